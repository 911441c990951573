#!/usr/bin/env python3
"""Write-lock probe: how long another connection's BEGIN IMMEDIATE is blocked.

usage: lockprobe.py DB [--interval 0.002]

Connects to DB (WAL), prints "ready" on stdout, then until SIGTERM/SIGINT tries
`BEGIN IMMEDIATE; COMMIT` every INTERVAL seconds with busy_timeout = 0, the way a
deployer's write would, but polling itself so the resolution is INTERVAL (SQLite's
own busy handler sleeps up to 100 ms between tries). A blocked episode runs from the
first refused try to the next successful one. On exit it prints one JSON line:
{"longest_blocked_s", "blocked_total_s", "episodes": [[start_s, seconds], ...] (>= 10 ms),
 "attempts", "still_blocked_at_exit"}.
"""
import argparse, json, signal, sqlite3, sys, time

stop = False


def _stop(*_):
    global stop
    stop = True


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("db")
    ap.add_argument("--interval", type=float, default=0.002)
    a = ap.parse_args()
    signal.signal(signal.SIGTERM, _stop)
    signal.signal(signal.SIGINT, _stop)
    con = sqlite3.connect(a.db, isolation_level=None, timeout=0)
    con.execute("PRAGMA busy_timeout = 0")
    t0 = time.monotonic()
    blocked_since, longest, total, attempts, episodes = None, 0.0, 0.0, 0, []
    print("ready", flush=True)
    while not stop:
        t = time.monotonic()
        attempts += 1
        try:
            con.execute("BEGIN IMMEDIATE")
            con.execute("COMMIT")
            if blocked_since is not None:
                d = t - blocked_since
                longest, total = max(longest, d), total + d
                if d >= 0.010:
                    episodes.append([round(blocked_since - t0, 3), round(d, 3)])
                blocked_since = None
        except sqlite3.OperationalError:  # database is locked / busy
            if con.in_transaction:
                con.execute("ROLLBACK")
            if blocked_since is None:
                blocked_since = t
        time.sleep(a.interval)
    still = blocked_since is not None
    if still:
        d = time.monotonic() - blocked_since
        longest, total = max(longest, d), total + d
        episodes.append([round(blocked_since - t0, 3), round(d, 3)])
    con.close()
    print(json.dumps({"longest_blocked_s": round(longest, 4), "blocked_total_s": round(total, 4),
                      "episodes": episodes, "attempts": attempts, "still_blocked_at_exit": still}), flush=True)


if __name__ == "__main__":
    main()
