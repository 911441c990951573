#!/usr/bin/env python3
"""A stand-in deployer: one short write transaction every ~20 ms while a migration runs.

usage: deployer.py DB --log LOG [--interval 0.02] [--busy-timeout 1.0] [--seed 1]

Opens DB the way a deployer does (plain sqlite3 module, WAL, foreign_keys = ON,
synchronous = FULL, busy_timeout 1 s), prints "ready" on stdout, then until
SIGTERM/SIGINT runs, at every INTERVAL tick (a late write skips ticks, it never
bursts), one transaction `BEGIN IMMEDIATE; <write>; COMMIT` of one of the kinds a
deployer does, picked at random:

  insert a VM    (40%)  INSERT INTO vms (vm_id, network, name, status, created_at, updated_at)
  update one     (30%)  UPDATE vms SET status = ?, updated_at = ? WHERE id = ?
  insert event   (20%)  INSERT INTO vm_events (vm_id, kind, at, detail[, network]) SELECT ... FROM vms WHERE id = ?
  delete one     (10%)  DELETE FROM vms WHERE id = ?   (cascades to its events)

Every statement uses only what v2 and v3 share (rowid, vm_id, network, status, the
timestamps), so the same deployer keeps writing across a swap of the tables; the one
difference, vm_events.network (v3 only), is looked up inside the write transaction,
where the schema cannot change under it. VMs are picked by rowid among the ones the
deployer believes alive (1..max(id) at start, plus its inserts, minus its deletes).

Latency is BEGIN IMMEDIATE to COMMIT returned, failures are any sqlite3.Error (a busy
write lock past the timeout, mostly). Acknowledged writes go to LOG as JSON lines, for
verify_v3.py --deployer-log; on exit one JSON summary line goes to stdout:
{"writes", "failures", "errors": {message: count}, "p50_ms", "p99_ms", "max_ms",
 "longest_stall_s", "kinds": {kind: count}, "seconds", "failure_times_s": [[start, end], ...]}.
longest_stall_s is the longest a write waited for the lock, across failed retries: from
the start of the first of a run of failed writes (or of a slow write) to the end of the
write that then succeeded, the deployer's view of the longest write transaction it met.
"""
import argparse, json, random, signal, sqlite3, sys, time

stop = False


def _stop(*_):
    global stop
    stop = True


def pct(sorted_values, q):
    if not sorted_values:
        return None
    k = min(len(sorted_values) - 1, max(0, int(round(q * (len(sorted_values) - 1)))))
    return sorted_values[k]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("db")
    ap.add_argument("--log", required=True)
    ap.add_argument("--interval", type=float, default=0.02)
    ap.add_argument("--busy-timeout", type=float, default=1.0)
    ap.add_argument("--seed", type=int, default=1)
    a = ap.parse_args()
    signal.signal(signal.SIGTERM, _stop)
    signal.signal(signal.SIGINT, _stop)
    rnd = random.Random(a.seed)
    con = sqlite3.connect(a.db, isolation_level=None, timeout=a.busy_timeout, check_same_thread=False)
    con.execute(f"PRAGMA busy_timeout = {int(a.busy_timeout * 1000)}")
    con.execute("PRAGMA foreign_keys = ON")
    con.execute("PRAGMA synchronous = FULL")
    max_id = con.execute("SELECT coalesce(max(id), 0) FROM vms").fetchone()[0]
    alive = list(range(1, max_id + 1))  # rowids believed alive; swap-remove on delete
    where = {i: i - 1 for i in alive}
    log = open(a.log, "w")
    lat, fails, errors, kinds, failure_times = [], 0, {}, {}, []
    stall_start, longest_stall, seq = None, 0.0, 0
    STATUSES = ["running", "stopped", "starting", "error"]

    def forget(i):
        k = where.pop(i)
        last = alive.pop()
        if last != i:
            alive[k] = last
            where[last] = k

    def write(kind, seq):
        """One transaction; returns the log record of an acknowledged write (or None for a no-op)."""
        now = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime()) + f".{seq % 1000:03d}Z"
        con.execute("BEGIN IMMEDIATE")
        try:
            if kind == "insert_vm":
                vid, net = f"d{seq:07d}", rnd.choice(["main", "test", "qa", "dev"])
                cur = con.execute("INSERT INTO vms (vm_id, network, name, status, created_at, updated_at) "
                                  "VALUES (?, ?, ?, 'provisioning', ?, ?)", (vid, net, f"{net}-deployer-{vid}", now, now))
                rec = {"op": kind, "id": cur.lastrowid, "vm_id": vid, "network": net, "updated_at": now}
            elif kind == "update_vm":
                i = rnd.choice(alive)
                status, stamp = rnd.choice(STATUSES), f"deployer-{seq}-{now}"
                cur = con.execute("UPDATE vms SET status = ?, updated_at = ? WHERE id = ?", (status, stamp, i))
                rec = {"op": kind, "id": i, "status": status, "updated_at": stamp} if cur.rowcount == 1 else None
            elif kind == "insert_event":
                i = rnd.choice(alive)
                has_network = con.execute("SELECT 1 FROM pragma_table_info('vm_events') WHERE name = 'network'").fetchone()
                if has_network:
                    cur = con.execute("INSERT INTO vm_events (vm_id, kind, at, detail, network) "
                                      "SELECT vm_id, 'deployer', ?, ?, network FROM vms WHERE id = ?", (now, f"seq {seq}", i))
                else:
                    cur = con.execute("INSERT INTO vm_events (vm_id, kind, at, detail) "
                                      "SELECT vm_id, 'deployer', ?, ? FROM vms WHERE id = ?", (now, f"seq {seq}", i))
                rec = {"op": kind, "id": i, "event_id": cur.lastrowid} if cur.rowcount == 1 else None
            else:  # delete_vm
                i = rnd.choice(alive)
                cur = con.execute("DELETE FROM vms WHERE id = ?", (i,))
                rec = {"op": kind, "id": i} if cur.rowcount == 1 else None
            con.execute("COMMIT")
        except BaseException:
            if con.in_transaction:
                try:
                    con.execute("ROLLBACK")
                except sqlite3.Error:
                    pass
            raise
        return rec

    t0 = time.monotonic()
    print("ready", flush=True)
    next_tick = time.monotonic()
    while not stop:
        seq += 1
        kind = rnd.choices(["insert_vm", "update_vm", "insert_event", "delete_vm"], [0.4, 0.3, 0.2, 0.1])[0]
        if not alive:  # an empty table: nothing to update, give an event or delete yet
            kind = "insert_vm"
        t = time.monotonic()
        try:
            rec = write(kind, seq)
            end = time.monotonic()
            lat.append(end - t)
            kinds[kind] = kinds.get(kind, 0) + 1
            longest_stall = max(longest_stall, end - (stall_start if stall_start is not None else t))
            stall_start = None
            if rec:
                if rec["op"] == "insert_vm":
                    where[rec["id"]] = len(alive)
                    alive.append(rec["id"])
                elif rec["op"] == "delete_vm":
                    forget(rec["id"])
                rec["t"] = round(end - t0, 3)
                log.write(json.dumps(rec) + "\n")
        except sqlite3.Error as e:
            end = time.monotonic()
            fails += 1
            msg = str(e)[:120]
            errors[msg] = errors.get(msg, 0) + 1
            if stall_start is None:
                stall_start = t
            if failure_times and t - failure_times[-1][1] < 2 * a.interval + a.busy_timeout:
                failure_times[-1][1] = round(end - t0, 3)
            else:
                failure_times.append([round(t - t0, 3), round(end - t0, 3)])
        next_tick += a.interval
        now = time.monotonic()
        if next_tick < now:  # late: skip the missed ticks rather than burst
            next_tick = now + a.interval - ((now - next_tick) % a.interval)
        time.sleep(max(0.0, next_tick - now))
    if stall_start is not None:
        longest_stall = max(longest_stall, time.monotonic() - stall_start)
    log.close()
    con.close()
    lat.sort()
    ms = lambda v: None if v is None else round(v * 1000, 2)
    print(json.dumps({"writes": len(lat), "failures": fails, "errors": errors, "p50_ms": ms(pct(lat, 0.5)),
                      "p99_ms": ms(pct(lat, 0.99)), "max_ms": ms(lat[-1] if lat else None),
                      "longest_stall_s": round(longest_stall, 3), "kinds": kinds,
                      "seconds": round(time.monotonic() - t0, 3), "still_failing_at_exit": stall_start is not None,
                      "failure_times_s": failure_times}), flush=True)


if __name__ == "__main__":
    main()
