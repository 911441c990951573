#!/usr/bin/env python3
"""Generate a realistic v2 deployer database (WAL mode, fixed seed) for benchmarks.

usage: gen_v2.py N OUT --vmdb PATH_TO_VMDB [--seed 42]

The schema is made by `vmdb init --to 2` (so it is exactly v2, history included);
this script adds what real databases carry (an `updated_at` trigger and a view) and
N VMs over four networks (main/test/qa/dev weighted 55/25/12/8) with 4-character
base-36 ids, globally unique as v2 demands, about 20 columns each, and 1-3 events
per VM (2.0 on average) referring to it by vm_id. Adapted from
../shared/peers/gen_v1.py so figures compare with the peers' stand-in schema.
"""
import argparse, json, os, random, sqlite3, subprocess, sys, time

EXTRAS = """
CREATE TRIGGER vms_set_updated_at AFTER UPDATE ON vms FOR EACH ROW
WHEN NEW.updated_at IS OLD.updated_at
BEGIN
    UPDATE vms SET updated_at = strftime('%Y-%m-%dT%H:%M:%fZ', 'now') WHERE id = NEW.id;
END;
CREATE VIEW vms_active AS
    SELECT id, vm_id, network, name, node_id, status, ipv4, mycelium_ip, updated_at
    FROM vms WHERE status IN ('running', 'starting');
"""

NETWORKS, NET_WEIGHTS = ["main", "test", "qa", "dev"], [0.55, 0.25, 0.12, 0.08]
STATUSES, STATUS_WEIGHTS = ["running", "stopped", "deleted", "error", "starting"], [0.68, 0.14, 0.12, 0.04, 0.02]
FLISTS = [
    "https://hub.grid.tf/tf-official-vms/ubuntu-22.04.flist",
    "https://hub.grid.tf/tf-official-vms/ubuntu-24.04-full.flist",
    "https://hub.grid.tf/tf-official-apps/base:latest.flist",
    "https://hub.grid.tf/tf-official-vms/debian-12.flist",
]
B36 = "0123456789abcdefghijklmnopqrstuvwxyz"


def b36(n, width=4):
    s = []
    for _ in range(width):
        n, r = divmod(n, 36)
        s.append(B36[r])
    return "".join(reversed(s))


def iso(ts):
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(ts))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("n", type=int)
    ap.add_argument("out")
    ap.add_argument("--vmdb", required=True)
    ap.add_argument("--seed", type=int, default=42)
    a = ap.parse_args()
    if a.n > 36 ** 4:
        sys.exit("N must be <= 36^4")
    for suffix in ("", "-wal", "-shm", "-journal"):
        if os.path.exists(a.out + suffix):
            os.remove(a.out + suffix)
    subprocess.run([a.vmdb, "init", "--db", a.out, "--to", "2"], check=True, stdout=subprocess.DEVNULL)

    rnd = random.Random(a.seed)
    t0 = time.time()
    con = sqlite3.connect(a.out, isolation_level=None)
    con.execute("PRAGMA journal_mode=WAL")
    con.execute("PRAGMA synchronous=OFF")  # generation only
    con.executescript(EXTRAS)
    ids = rnd.sample(range(36 ** 4), a.n)
    base_ts, span = 1_672_531_200, 3 * 365 * 86400
    step = span / max(a.n, 1)
    vm_sql = ("INSERT INTO vms (id, vm_id, network, name, node_id, contract_id, twin_id, status, ipv4, ipv6,"
              " mycelium_ip, flist, cpu, memory_mb, disk_gb, installed_version, available_version,"
              " updates_checked_at, created_at, updated_at, metadata) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)")
    ev_sql = "INSERT INTO vm_events (vm_id, kind, at, detail) VALUES (?,?,?,?)"
    con.execute("BEGIN")
    vms, events, contract = [], [], 100_000
    for i in range(1, a.n + 1):
        net = rnd.choices(NETWORKS, NET_WEIGHTS)[0]
        vid = b36(ids[i - 1])
        status = rnd.choices(STATUSES, STATUS_WEIGHTS)[0]
        created = int(base_ts + i * step + rnd.randint(0, 3600))
        updated = created + rnd.randint(0, 90 * 86400)
        contract += rnd.randint(1, 7)
        twin = rnd.randint(1, 40_000)
        cpu = rnd.choice([1, 1, 2, 2, 2, 4, 4, 8, 16])
        has_v4 = rnd.random() < 0.35
        ipv4 = f"185.{rnd.randint(0, 255)}.{rnd.randint(0, 255)}.{rnd.randint(1, 254)}/24" if has_v4 else None
        ipv6 = "2a10:b600:1:{:x}:{:x}:{:x}:{:x}:{:x}".format(*(rnd.getrandbits(16) for _ in range(5))) if rnd.random() < 0.7 else None
        myc = "4{:02x}:{:x}:{:x}:{:x}:{:x}:{:x}:{:x}:{:x}".format(rnd.getrandbits(8), *(rnd.getrandbits(16) for _ in range(7)))
        meta = json.dumps({
            "tags": rnd.sample(["web", "db", "ci", "gpu", "edge", "k8s", "cache", "batch"], rnd.randint(0, 3)),
            "ssh_key_fp": "SHA256:" + "".join(rnd.choice(B36) for _ in range(43)),
            "solution": rnd.choice(["vm", "k8s-worker", "k8s-master", "gateway"]),
            "deploy_rev": rnd.getrandbits(32),
        }, separators=(",", ":"))
        installed = rnd.choice([None, "1.4.2", "1.5.0"])
        vms.append((i, vid, net, f"{net}-{rnd.choice(['web', 'db', 'ci', 'app', 'k8s'])}-{vid}", rnd.randint(1, 6000),
                    contract, twin, status, ipv4, ipv6, myc, rnd.choice(FLISTS), cpu, cpu * rnd.choice([512, 1024, 2048, 4096]),
                    rnd.choice([10, 25, 50, 100, 250, 500]), installed, rnd.choice([None, "1.5.1"]) if installed else None,
                    iso(updated) if installed else None, iso(created), iso(updated), meta))
        k = rnd.choices([1, 2, 3], [0.2, 0.6, 0.2])[0]
        t = created
        for kind in ["created", "started", status if status != "running" else "restarted"][:k]:
            events.append((vid, kind, iso(t), json.dumps({"by": f"twin:{twin}", "node": rnd.randint(1, 6000)})))
            t += rnd.randint(5, 86400)
        if len(vms) >= 20_000:
            con.executemany(vm_sql, vms); con.executemany(ev_sql, events); vms.clear(); events.clear()
    con.executemany(vm_sql, vms); con.executemany(ev_sql, events)
    con.execute("COMMIT")
    con.execute("ANALYZE")
    con.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    nv = con.execute("SELECT count(*) FROM vms").fetchone()[0]
    ne = con.execute("SELECT count(*) FROM vm_events").fetchone()[0]
    con.close()
    print(f"{a.out}: vms={nv} vm_events={ne} size={os.path.getsize(a.out) / 1e6:.1f} MB in {time.time() - t0:.1f}s", file=sys.stderr)


if __name__ == "__main__":
    main()
