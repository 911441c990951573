#!/usr/bin/env python3
"""The zero-downtime upgrade, measured (issue 15): a deployer on the real VMStore
(`vmdb-bench deployer`, busy timeout 1 s, one durable write every 1/RATE s, lookups
as fast as they go in between) on a v2 file, first alone (the baseline), then with
`vmdb migrate --online` running beside it.

  upgrade.py --data DIR --vmdb BIN --bench BIN --n N [--rate 50] [--baseline-seconds 20]

DIR/v2_N.db is made by gen_v2.py when missing (the same seed as benchmarks/run). Each
run works on a fresh copy in DIR/upgrade/. Prints a markdown table and writes
DIR/results/N/upgrade.json.
"""
import argparse, json, os, shutil, subprocess, sys, time

HERE = os.path.dirname(os.path.abspath(__file__))


def fresh_copy(src, dst):
    for suffix in ("", "-wal", "-shm"):
        if os.path.exists(dst + suffix):
            os.remove(dst + suffix)
    shutil.copyfile(src, dst)
    os.sync()


def deployer(a, db, seconds, stop=None):
    cmd = [a.bench, "deployer", "--db", db, "--rate", str(a.rate), "--seconds", str(seconds), "--busy-timeout", "1"]
    if stop:
        cmd += ["--stop-file", stop]
    return subprocess.Popen(cmd, stdout=subprocess.PIPE, text=True)


def summary(report):
    report = dict(report)
    report.pop("acknowledged", None)
    return report


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--data", required=True)
    ap.add_argument("--vmdb", required=True)
    ap.add_argument("--bench", required=True)
    ap.add_argument("--n", type=int, required=True)
    ap.add_argument("--rate", type=float, default=50)
    ap.add_argument("--baseline-seconds", type=float, default=20)
    a = ap.parse_args()
    src = os.path.join(a.data, f"v2_{a.n}.db")
    if not os.path.exists(src):
        subprocess.run([sys.executable, os.path.join(HERE, "gen_v2.py"), str(a.n), src, "--vmdb", a.vmdb], check=True)
    work = os.path.join(a.data, "upgrade")
    os.makedirs(work, exist_ok=True)
    db = os.path.join(work, "live.db")

    fresh_copy(src, db)
    baseline = json.loads(deployer(a, db, a.baseline_seconds).communicate()[0])

    fresh_copy(src, db)
    stop = os.path.join(work, "stop")
    if os.path.exists(stop):
        os.remove(stop)
    load = deployer(a, db, 3600, stop)
    time.sleep(2)
    started = time.monotonic()
    migrate = subprocess.run([a.vmdb, "migrate", "--db", db, "--online", "--no-backup", "--default-network", "main", "--format", "json"],
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    wall = time.monotonic() - started
    time.sleep(2)
    open(stop, "w").close()
    during = json.loads(load.communicate()[0])
    online = {}
    if migrate.returncode == 0:
        for m in json.loads(migrate.stdout).get("migrations", []):
            online = m.get("verification", {}).get("online", {}) or online
    result = {"n": a.n, "rate": a.rate, "migrate_exit": migrate.returncode, "migrate_wall_s": round(wall, 2),
              "migrate_stderr": migrate.stderr[-500:], "online": online,
              "baseline": summary(baseline), "during": summary(during)}
    out = os.path.join(a.data, "results", str(a.n))
    os.makedirs(out, exist_ok=True)
    with open(os.path.join(out, "upgrade.json"), "w") as f:
        json.dump(result, f, indent=1)

    def row(name, r):
        lat = r["latencyMilliseconds"]
        return (f"| {name} | {r['attempted']} | {r['succeeded']} | {sum(r['failed'].values())} | {r['collisionsRefused']} / {r['collisionsRecorded']} "
                f"| {lat['p50']:.1f} | {lat['p99']:.1f} | {lat['max']:.1f} | {r['lookups'] / r['seconds']:,.0f} | {r['versionsSeen']} |")
    print(f"\nN = {a.n:,}: `vmdb migrate --online` {wall:.1f} s (exit {migrate.returncode}), longest vmdb write transaction "
          f"{online.get('longestTransactionMilliseconds', 0):.1f} ms, cut-over {online.get('cutOverMilliseconds', 0):.1f} ms after {online.get('cutOverRetries', 0)} retries\n")
    print("| deployer | writes | acknowledged | failed | collisions refused / recorded | p50 ms | p99 ms | max ms | lookups/s | versions seen |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|---|")
    print(row(f"alone, {a.baseline_seconds:.0f} s", baseline))
    print(row(f"during the upgrade, {during['seconds']:.0f} s", during))


if __name__ == "__main__":
    main()
