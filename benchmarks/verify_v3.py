#!/usr/bin/env python3
"""Check a v3 result (or a copy) against its v2 source, as ../shared/peers/verify.py does.

usage: verify_v3.py SRC DST [--ref REF] [--fresh FRESH] [--expect v3|v2] [--label L]
                   [--json OUT] [--quick]

Checks (behaviour inside transactions that are rolled back; DST is not modified):
  * row counts of vms / vm_events equal SRC; the content of vms (every v2 column) and of
    vm_events (every v2 column) identical both ways (EXCEPT); vm_events.network equals
    its VM's network
  * PRAGMA integrity_check (quick_check with --quick) and foreign_key_check
  * v3: a row with an existing vm_id on another network inserts, an exact (network,
    vm_id) duplicate is rejected, an empty network is rejected (CHECK); v2: the
    cross-network insert must be rejected
  * the updated_at trigger fires, the vms_active view answers, deleting a VM cascades to
    its events (foreign_keys=ON)
  * schema vs REF (the floor's result) and vs FRESH (what `vmdb init` makes): objects
    missing / extra, and a semantic comparison (columns, foreign keys with actions,
    indexes by columns and uniqueness, CHECK clauses, triggers, views) that ignores
    names and formatting. Bookkeeping tables (history, alembic_version, stats) ignored.
  * --deployer-log LOG (benchmarks/deployer.py wrote to DST during the migration): the
    content is compared on every row the deployer did not touch, and each VM it touched
    is checked against its acknowledged writes: inserted ones present with their
    (network, vm_id), deleted ones gone with their events, updated ones carrying the
    last status and updated_at acknowledged, their other columns as in SRC, and their
    event count equal to SRC's plus the events the deployer added.
"""
import argparse, json, os, re, sqlite3, sys

V2_VMS = ("id, vm_id, name, node_id, contract_id, twin_id, status, ipv4, ipv6, mycelium_ip, flist, cpu, "
          "memory_mb, disk_gb, installed_version, available_version, updates_checked_at, created_at, "
          "updated_at, metadata, network")
V2_EVENTS = "id, vm_id, kind, at, detail"
NETWORKS = ["main", "test", "qa", "dev"]
BOOKKEEPING = re.compile(r"^(sqlite_stat\d|sqlite_sequence|alembic_version|sqlite_autoindex_alembic_version_1|vmdb_.*|_vmdb.*|schema_migrations)$")


def norm_sql(sql):
    if sql is None:
        return None
    s = re.sub(r'["`\[\]]', "", sql).lower()
    s = re.sub(r"\s+", " ", s)
    s = re.sub(r"\s*([(),])\s*", r"\1", s)
    return s.strip().rstrip(";")


def checks_of(sql):
    return sorted(re.sub(r"\s+", "", m.lower()) for m in re.findall(r"CHECK\s*\((.*?)\)\s*(?:,|\n|$)", sql or "", re.I | re.S))


def semantic(con):
    out = {}
    for (t, sql) in con.execute("SELECT name, sql FROM sqlite_master WHERE type='table' ORDER BY name"):
        if BOOKKEEPING.match(t):
            continue
        cols = [(r[1], r[2].upper(), r[3], r[4], r[5]) for r in con.execute(f'PRAGMA table_xinfo("{t}")')]
        fks = {}
        for r in con.execute(f'PRAGMA foreign_key_list("{t}")'):
            fks.setdefault(r[0], [r[2], [], [], r[5], r[6]])
            fks[r[0]][1].append(r[3]); fks[r[0]][2].append(r[4])
        idx = []
        for r in con.execute(f'PRAGMA index_list("{t}")'):
            if r[3] == "pk":
                continue
            icols = tuple(c[2] for c in con.execute(f'PRAGMA index_info("{r[1]}")'))
            idx.append((icols, r[2], r[4]))  # columns, unique, partial (origin u/c ignored: same rule)
        out[t] = {"columns": cols, "fks": sorted(map(str, fks.values())), "indexes": sorted(idx), "checks": checks_of(sql)}
    for typ in ("trigger", "view"):
        out[typ + "s"] = sorted(norm_sql(r[0]) for r in con.execute(f"SELECT sql FROM sqlite_master WHERE type='{typ}'"))
    return out


def compare(con, other, label, r):
    sm, so = semantic(con), semantic(other)
    operator_extras = label == "fresh"  # a fresh install has none of the operator's trigger and view
    if operator_extras:
        for d in (sm, so):
            d.pop("triggers", None), d.pop("views", None)
    diffs = []
    for k in sorted(set(sm) | set(so)):
        if sm.get(k) != so.get(k):
            if isinstance(sm.get(k), dict) and isinstance(so.get(k), dict):
                diffs += [f"{k}.{kk}: {sm[k][kk]} vs {label} {so[k].get(kk)}" for kk in sm[k] if sm[k][kk] != so[k].get(kk)]
            else:
                diffs.append(f"{k}: {sm.get(k)} vs {label} {so.get(k)}")
    names = lambda c: {(t, n) for t, n in c.execute("SELECT type, name FROM sqlite_master")
                       if not BOOKKEEPING.match(n) and not (operator_extras and t in ("trigger", "view"))}
    mine, theirs = names(con), names(other)
    r[f"missing_vs_{label}"] = sorted(f"{t} {n}" for t, n in theirs - mine)
    r[f"extra_vs_{label}"] = sorted(f"{t} {n}" for t, n in mine - theirs)
    r[f"semantic_equal_to_{label}"] = not diffs
    if diffs:
        r[f"semantic_diffs_vs_{label}"] = diffs
    return diffs


def check_deployer(con, log, expect, r, P):
    """The rows benchmarks/deployer.py touched, against its acknowledged writes (see the docstring)."""
    vms = {}  # id -> expected final state
    events = {}  # id -> events the deployer added
    for line in open(log):
        w = json.loads(line)
        i = w["id"]
        if w["op"] == "insert_vm":
            vms[i] = {"inserted": True, "vm_id": w["vm_id"], "network": w["network"], "status": "provisioning",
                      "updated_at": w["updated_at"], "deleted": False}
        else:
            v = vms.setdefault(i, {"inserted": False, "deleted": False})
            if w["op"] == "update_vm":
                v["status"], v["updated_at"] = w["status"], w["updated_at"]
            elif w["op"] == "delete_vm":
                v["deleted"] = True
            elif w["op"] == "insert_event":
                events[i] = events.get(i, 0) + 1
    con.executemany("INSERT INTO temp.touched VALUES (?)", [(i,) for i in vms])
    for i, v in vms.items():
        if not v["inserted"]:
            row = con.execute("SELECT vm_id, network FROM src.vms WHERE id = ?", (i,)).fetchone()
            if row is None:
                P(f"deployer log names VM {i}, which the source does not have")
                continue
            v["vm_id"], v["network"] = row
    con.executemany("INSERT OR IGNORE INTO temp.touched_vm VALUES (?)", [(v["vm_id"],) for v in vms.values() if "vm_id" in v])
    ev_where = "network = ? AND vm_id = ?" if expect == "v3" else "vm_id = ?"
    bad, alive_src, expected_events = [], [], 0
    for i, v in vms.items():
        if "vm_id" not in v:
            continue
        key = (v["network"], v["vm_id"]) if expect == "v3" else (v["vm_id"],)
        row = con.execute("SELECT vm_id, network, status, updated_at FROM main.vms WHERE id = ?", (i,)).fetchone()
        n_ev = con.execute(f"SELECT count(*) FROM main.vm_events WHERE {ev_where}", key).fetchone()[0]
        if v["deleted"]:
            if row is not None:
                bad.append(f"VM {i} deleted by the deployer is present")
            if n_ev:
                bad.append(f"VM {i} deleted by the deployer still has {n_ev} events")
            continue
        if row is None:
            bad.append(f"VM {i} ({'inserted' if v['inserted'] else 'updated or given an event'} by the deployer) is missing")
            continue
        if (row[0], row[1]) != (v["vm_id"], v["network"]):
            bad.append(f"VM {i}: ({row[1]}, {row[0]}), expected ({v['network']}, {v['vm_id']})")
        if "status" in v and (row[2], row[3]) != (v["status"], v["updated_at"]):
            bad.append(f"VM {i}: status/updated_at {row[2]!r}/{row[3]!r}, last acknowledged {v['status']!r}/{v['updated_at']!r}")
        src_ev = 0 if v["inserted"] else con.execute("SELECT count(*) FROM src.vm_events WHERE vm_id = ?", (v["vm_id"],)).fetchone()[0]
        if n_ev != src_ev + events.get(i, 0):
            bad.append(f"VM {i}: {n_ev} events, expected {src_ev} + {events.get(i, 0)} from the deployer")
        expected_events += src_ev + events.get(i, 0)
        if not v["inserted"]:
            alive_src.append(i)
    # The columns the deployer never writes, on the source VMs it touched and left alive.
    cols = ", ".join(c for c in (x.strip() for x in V2_VMS.split(",")) if c not in ("status", "updated_at"))
    con.execute("CREATE TEMP TABLE alive_src (id INTEGER PRIMARY KEY)")
    con.executemany("INSERT INTO temp.alive_src VALUES (?)", [(i,) for i in alive_src])
    for x, y in (("src.vms", "main.vms"), ("main.vms", "src.vms")):
        n = con.execute(f"SELECT count(*) FROM (SELECT {cols} FROM {x} WHERE id IN (SELECT id FROM temp.alive_src) "
                        f"EXCEPT SELECT {cols} FROM {y} WHERE id IN (SELECT id FROM temp.alive_src))").fetchone()[0]
        if n:
            bad.append(f"{n} touched VMs of {x} differ from {y} in columns the deployer never writes")
    # Row counts: the untouched rows plus what the acknowledged writes leave.
    alive = sum(1 for v in vms.values() if "vm_id" in v and not v["deleted"])
    exp_vms = con.execute("SELECT count(*) FROM src.vms WHERE id NOT IN (SELECT id FROM temp.touched)").fetchone()[0] + alive
    exp_ev = con.execute("SELECT count(*) FROM src.vm_events WHERE vm_id NOT IN (SELECT vm_id FROM temp.touched_vm)").fetchone()[0] + expected_events
    for t, e in (("vms", exp_vms), ("vm_events", exp_ev)):
        d = con.execute(f"SELECT count(*) FROM main.{t}").fetchone()[0]
        r[f"{t}_rows"] = d
        if d != e:
            P(f"{t}: {d} rows, expected {e} (source plus the deployer's acknowledged writes)")
    r["deployer"] = {"vms_touched": len(vms), "inserted": sum(v["inserted"] for v in vms.values()),
                     "deleted": sum(v["deleted"] for v in vms.values()), "events_added": sum(events.values()),
                     "problems": len(bad)}
    for b in bad[:20]:
        P(b)
    if len(bad) > 20:
        P(f"... and {len(bad) - 20} more rows against the deployer's log")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("src"); ap.add_argument("dst")
    ap.add_argument("--ref"); ap.add_argument("--fresh")
    ap.add_argument("--expect", choices=["v3", "v2"], default="v3")
    ap.add_argument("--label", default="")
    ap.add_argument("--json")
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--deployer-log", help="deployer.py's log of acknowledged writes made to DST")
    a = ap.parse_args()
    r = {"label": a.label, "problems": [], "notes": []}
    P, N = r["problems"].append, r["notes"].append
    for suf in ("-wal", "-journal"):
        if os.path.exists(a.dst + suf) and os.path.getsize(a.dst + suf) > 0:
            N(f"{suf} left behind: {os.path.getsize(a.dst + suf)} bytes")
    con = sqlite3.connect(a.dst, isolation_level=None)
    r["size_bytes"] = os.path.getsize(a.dst)
    r["freelist_pages"] = con.execute("PRAGMA freelist_count").fetchone()[0]
    r["journal_mode"] = con.execute("PRAGMA journal_mode").fetchone()[0]
    con.execute("ATTACH DATABASE ? AS src", (a.src,))
    con.execute("CREATE TEMP TABLE touched (id INTEGER PRIMARY KEY)")
    con.execute("CREATE TEMP TABLE touched_vm (vm_id TEXT PRIMARY KEY)")
    if a.deployer_log:
        check_deployer(con, a.deployer_log, a.expect, r, P)
    else:
        for t in ("vms", "vm_events"):
            s = con.execute(f"SELECT count(*) FROM src.{t}").fetchone()[0]
            d = con.execute(f"SELECT count(*) FROM main.{t}").fetchone()[0]
            r[f"{t}_rows"] = d
            if s != d:
                P(f"{t}: {d} rows, source has {s}")
    skip = {"vms": "id NOT IN (SELECT id FROM temp.touched)", "vm_events": "vm_id NOT IN (SELECT vm_id FROM temp.touched_vm)"}
    for t, cols in (("vms", V2_VMS), ("vm_events", V2_EVENTS)):
        for x, y in ((f"src.{t}", f"main.{t}"), (f"main.{t}", f"src.{t}")):
            n = con.execute(f"SELECT count(*) FROM (SELECT {cols} FROM {x} WHERE {skip[t]} "
                            f"EXCEPT SELECT {cols} FROM {y} WHERE {skip[t]})").fetchone()[0]
            if n:
                P(f"{n} rows of {x} not in {y}" + (" (rows the deployer did not touch)" if a.deployer_log else ""))
    con.execute("DETACH DATABASE src")
    if a.expect == "v3":
        n = con.execute("SELECT count(*) FROM vm_events e LEFT JOIN vms v ON v.network = e.network AND v.vm_id = e.vm_id "
                        "WHERE v.id IS NULL").fetchone()[0]
        if n:
            P(f"{n} events whose (network, vm_id) names no VM")
    chk = con.execute("PRAGMA quick_check" if a.quick else "PRAGMA integrity_check").fetchall()
    if chk != [("ok",)]:
        P(f"integrity: {chk[:5]}")
    if con.execute("PRAGMA foreign_key_check").fetchall():
        P("foreign_key_check: violations")
    leftovers = [n for (n,) in con.execute("SELECT name FROM sqlite_master WHERE type='table' AND "
                                           "(name LIKE '%tmp%' OR name LIKE 'new_%' OR name LIKE '%_new%')")]
    if leftovers:
        P(f"leftover tables: {leftovers}")

    # behaviour, rolled back
    con.execute("PRAGMA foreign_keys=ON")
    con.execute("BEGIN")
    rid, net, vid, upd = con.execute("SELECT id, network, vm_id, updated_at FROM vms "
                                     "WHERE vm_id IN (SELECT vm_id FROM vm_events) ORDER BY id LIMIT 1").fetchone()
    other = next(n for n in NETWORKS if n != net)
    row = "INSERT INTO vms (vm_id, network, name, status, created_at, updated_at) VALUES (?,?,'bench','running','x','x')"

    def attempt(args):
        try:
            con.execute("SAVEPOINT t"); con.execute(row, args); con.execute("RELEASE t")
            return "ok"
        except sqlite3.IntegrityError as e:
            con.execute("ROLLBACK TO t"); con.execute("RELEASE t")
            return f"rejected ({e})"
    r["cross_network_insert"] = attempt((vid, other))
    r["exact_duplicate_insert"] = attempt((vid, net))
    r["empty_network_insert"] = attempt(("zzzz", ""))
    if a.expect == "v3":
        if r["cross_network_insert"] != "ok":
            P("a VM reusing an id under another network is rejected: the new identity is not in effect")
        if r["empty_network_insert"] == "ok":
            P("an empty network is accepted: CHECK (network <> '') missing")
    elif r["cross_network_insert"] == "ok":
        P("v2 copy accepted a cross-network duplicate")
    if r["exact_duplicate_insert"] == "ok":
        P("exact (network, vm_id) duplicate accepted")
    con.execute("UPDATE vms SET status='stopped' WHERE id=?", (rid,))
    r["trigger_fires"] = con.execute("SELECT updated_at FROM vms WHERE id=?", (rid,)).fetchone()[0] != upd
    if not r["trigger_fires"]:
        P("updated_at trigger did not fire (trigger lost)")
    try:
        r["view_rows"] = con.execute("SELECT count(*) FROM vms_active").fetchone()[0]
    except sqlite3.Error as e:
        P(f"view vms_active: {e}")
    ev = con.execute("SELECT count(*) FROM vm_events WHERE vm_id=?", (vid,)).fetchone()[0]
    con.execute("DELETE FROM vms WHERE id=?", (rid,))
    ev2 = con.execute("SELECT count(*) FROM vm_events WHERE vm_id=?", (vid,)).fetchone()[0]
    r["fk_cascade"] = ev > 0 and ev2 == 0
    if not r["fk_cascade"]:
        P(f"deleting a VM did not cascade to its events ({ev} -> {ev2})")
    con.execute("ROLLBACK")
    con.execute("PRAGMA foreign_keys=OFF")
    r["stat1_rows"] = con.execute("SELECT count(*) FROM sqlite_stat1 WHERE tbl IN ('vms','vm_events')").fetchone()[0] \
        if con.execute("SELECT 1 FROM sqlite_master WHERE name='sqlite_stat1'").fetchone() else 0

    for path, label in ((a.ref, "floor"), (a.fresh, "fresh")):
        if path:
            other_con = sqlite3.connect(path)
            diffs = compare(con, other_con, label, r)
            other_con.close()
            if diffs and label == "fresh" and a.expect == "v3":
                N(f"schema differs from a fresh install: {len(diffs)} difference(s)")
    con.close()
    r["ok"] = not r["problems"]
    line = json.dumps(r)
    if a.json:
        with open(a.json, "a") as f:
            f.write(line + "\n")
    print(line)
    sys.exit(0 if r["ok"] else 1)


if __name__ == "__main__":
    main()
