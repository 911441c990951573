#!/usr/bin/env python3
"""The runner behind benchmarks/run: interleaved rounds, medians, peak RSS and disk.

  bench.py migrate --n N --runs R --data DIR --vmdb BIN [--impls a,b,...] [--extras]
  bench.py repair  --records M --runs R --data DIR --bench BIN
  bench.py store   --vms V --data DIR --bench BIN
  bench.py migrate-online --n N --runs R --data DIR --vmdb BIN [--impls floor,vmdb,online,online_p025]
  bench.py report  --data DIR            (markdown from every results/*.json, to stdout)

migrate: every implementation runs once per round, in an order rotated each round, on a
fresh copy of DIR/v2_N.db (rm + cp + sync, untimed) in DIR/work/. Each run is wrapped in
/usr/bin/time -f %M (peak RSS of the process tree's largest member) while a thread
samples the size of every file under DIR/work/ every 20 ms (peak extra disk = peak total
- the copy). The *_lock implementations run with benchmarks/lockprobe.py attached.
In the last round each result is checked with verify_v3.py (untimed). Results go to
DIR/results/N/migrate.json.

migrate-online: the same, with benchmarks/deployer.py writing throughout each run; see
the class Online.
"""
import argparse, json, os, shutil, signal, statistics, subprocess, sys, threading, time

HERE = os.path.dirname(os.path.abspath(__file__))
FLOOR = os.path.join(HERE, "floor_v2_to_v3.sql")
PY = sys.executable


def load():
    with open("/proc/loadavg") as f:
        return " ".join(f.read().split()[:3])


def sh(cmd, **kw):
    return subprocess.run(cmd, shell=isinstance(cmd, str), check=True, **kw)


class DiskSampler(threading.Thread):
    def __init__(self, folder, period=0.02):
        super().__init__(daemon=True)
        self.folder, self.period, self.stop_flag = folder, period, False
        self.peak, self.peak_wal = 0, 0

    def sample(self):
        total, wal = 0, 0
        for root, _, files in os.walk(self.folder):
            for name in files:
                try:
                    size = os.stat(os.path.join(root, name)).st_size
                except FileNotFoundError:
                    continue
                total += size
                if name.endswith("-wal"):
                    wal += size
        self.peak, self.peak_wal = max(self.peak, total), max(self.peak_wal, wal)

    def run(self):
        while not self.stop_flag:
            self.sample()
            time.sleep(self.period)
        self.sample()


def lock_seconds(obj):
    """Sum of every lockSeconds in vmdb's JSON report."""
    if isinstance(obj, dict):
        return sum(v if k == "lockSeconds" and isinstance(v, (int, float)) else lock_seconds(v) for k, v in obj.items())
    if isinstance(obj, list):
        return sum(lock_seconds(v) for v in obj)
    return 0.0


class Migrate:
    def __init__(self, a):
        self.a = a
        self.src = os.path.join(a.data, f"v2_{a.n}.db")
        self.wd = os.path.join(a.data, "work")
        self.w = os.path.join(self.wd, "live.db")
        self.copy = os.path.join(self.wd, "copy.db")
        self.out = os.path.join(a.data, "results", str(a.n))
        self.ref = os.path.join(a.data, f"ref_v3_{a.n}.db")
        self.fresh = os.path.join(a.data, "fresh_v3.db")
        os.makedirs(self.out, exist_ok=True)
        v, w, c = a.vmdb, self.w, self.copy
        ini = os.path.join(HERE, "peers", "alembic.ini")
        self.impls = {
            "floor": f"sqlite3 {w} < {FLOOR}",
            "vmdb": [v, "migrate", "--db", w, "--no-backup", "--format", "json"],
            "vmdb_counts": [v, "migrate", "--db", w, "--no-backup", "--verify", "counts", "--format", "json"],
            "vmdb_backup": [v, "migrate", "--db", w, "--format", "json"],
            "floor_lock": f"sqlite3 {w} < {FLOOR}",
            "vmdb_lock": [v, "migrate", "--db", w, "--no-backup", "--format", "json"],
            "vmdb_dry": [v, "migrate", "--db", w, "--dry-run", "--format", "json"],
            "floor_dry": f"sqlite3 {w} '.backup {c}' && sqlite3 {c} < {FLOOR}",
            "alembic": ["alembic", "-c", ini, "-x", f"db={w}", "upgrade", "head"],
            "sqlite_utils": [PY, os.path.join(HERE, "peers", "migrate_sqlite_utils.py"), w],
        }
        if a.vmdb_alt:  # a candidate build, measured beside the current one and the floor
            self.impls["alt"] = [a.vmdb_alt, "migrate", "--db", w, "--no-backup", "--format", "json"]
            self.impls["alt_counts"] = [a.vmdb_alt, "migrate", "--db", w, "--no-backup", "--verify", "counts", "--format", "json"]
        self.verify_as = {"alt": "v3", "alt_counts": "v3", "floor": "v3", "vmdb": "v3", "vmdb_counts": "v3", "vmdb_backup": "v3",
                          "alembic": "v3", "sqlite_utils": "v3"}

    def prepare(self):
        shutil.rmtree(self.wd, ignore_errors=True)
        os.makedirs(os.path.join(self.wd, "tmp"))
        shutil.copyfile(self.src, self.w)
        os.sync()

    def run_one(self, impl, cmd=None, extra_env=None):
        cmd = cmd or self.impls[impl]
        argv = ["sh", "-c", cmd] if isinstance(cmd, str) else cmd
        rss_file = os.path.join(self.out, ".rss")
        env = dict(os.environ, TMPDIR=os.path.join(self.wd, "tmp"), **(extra_env or {}))
        probe = None
        if impl.endswith("_lock"):
            probe = subprocess.Popen([PY, os.path.join(HERE, "lockprobe.py"), self.w], stdout=subprocess.PIPE, text=True)
            assert probe.stdout.readline().strip() == "ready"
        base = os.path.getsize(self.w)
        sampler = DiskSampler(self.wd)
        sampler.start()
        t = time.monotonic()
        p = subprocess.run(["/usr/bin/time", "-f", "%M", "-o", rss_file] + argv, env=env,
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        wall = time.monotonic() - t
        sampler.stop_flag = True
        sampler.join()
        rec = {"impl": impl, "wall_s": round(wall, 3), "exit": p.returncode,
               "peak_extra_disk_bytes": sampler.peak - base, "peak_wal_bytes": sampler.peak_wal}
        try:
            rec["rss_kb"] = int(open(rss_file).read().split()[-1])
        except (OSError, ValueError, IndexError):
            rec["rss_kb"] = None
        if probe:
            probe.send_signal(signal.SIGTERM)
            rec["probe"] = json.loads(probe.stdout.read().strip().splitlines()[-1])
            probe.wait()
        if isinstance(cmd, list) and cmd[0] in (self.a.vmdb, self.a.vmdb_alt) and "--format" in cmd:
            try:
                rec["lock_self_s"] = round(lock_seconds(json.loads(p.stdout)), 3)
            except ValueError:
                pass
        if p.returncode != 0:
            rec["stderr_tail"] = p.stderr[-2000:]
            print(f"!!! {impl} exited {p.returncode}: {p.stderr[-600:]}", file=sys.stderr)
        return rec, p

    def verify(self, impl, expect="v3", dst=None):
        args = [PY, os.path.join(HERE, "verify_v3.py"), self.src, dst or self.w, "--expect", expect, "--label", impl,
                "--fresh", self.fresh]
        if os.path.exists(self.ref) and impl != "floor":
            args += ["--ref", self.ref]
        if self.a.n >= 1_000_000:
            args.append("--quick")
        p = subprocess.run(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        try:
            return json.loads(p.stdout.strip().splitlines()[-1])
        except (ValueError, IndexError):
            return {"label": impl, "ok": False, "problems": [f"verify crashed: {p.stderr[-800:]}"]}

    def main(self):
        a = self.a
        res = {"n": a.n, "src_bytes": os.path.getsize(self.src), "load_start": load(), "started": time.strftime("%Y-%m-%d %H:%M:%S %Z"),
               "runs": [], "verify": {}, "extras": {}, "profile": {}}
        res["objects_bytes"] = dict(line.split("|") for line in subprocess.run(
            ["sqlite3", self.src, "SELECT name, sum(pgsize) FROM dbstat GROUP BY name ORDER BY 2 DESC"],
            stdout=subprocess.PIPE, text=True).stdout.split())
        res["objects_bytes"] = {k: int(v) for k, v in res["objects_bytes"].items()}
        impls = a.impls.split(",") if a.impls else list(self.impls)
        if not os.path.exists(self.fresh):
            sh([a.vmdb, "init", "--db", self.fresh], stdout=subprocess.DEVNULL)
        # The floor's result is the schema reference (and this run warms the page cache).
        self.prepare()
        rec, _ = self.run_one("floor")
        res["warmup_floor_s"] = rec["wall_s"]
        os.replace(self.w, self.ref)
        print(f"N={a.n}: warm-up floor {rec['wall_s']:.2f} s; load {load()}", file=sys.stderr)
        for r in range(a.runs):
            last = r == a.runs - 1
            for j in range(len(impls)):
                impl = impls[(j + r) % len(impls)]
                self.prepare()
                rec, _ = self.run_one(impl)
                rec["round"] = r
                res["runs"].append(rec)
                extra = f" lock(self) {rec['lock_self_s']:.2f}" if "lock_self_s" in rec else ""
                extra += f" probe {rec['probe']['longest_blocked_s']:.2f}" if "probe" in rec else ""
                print(f"N={a.n} round {r} {impl:13s} {rec['wall_s']:7.2f} s  rss {rec['rss_kb']} KB  "
                      f"disk +{rec['peak_extra_disk_bytes'] / 1e6:.0f} MB{extra}", file=sys.stderr)
                if last and rec["exit"] == 0:
                    if impl in self.verify_as:
                        res["verify"][impl] = self.verify(impl)
                    elif impl == "vmdb_dry":
                        same = subprocess.run(["cmp", "-s", self.src, self.w]).returncode == 0
                        res["verify"][impl] = {"ok": same, "live_file_unchanged": same,
                                               "problems": [] if same else ["live file changed by a dry run"]}
        if a.extras:
            self.extras(res)
        if not a.no_profile:
            self.profile(res)
        res["load_end"] = load()
        with open(os.path.join(self.out, a.results_name), "w") as f:
            json.dump(res, f, indent=1)
        shutil.rmtree(self.wd, ignore_errors=True)
        print(summarize_migrate(res), file=sys.stderr)

    def extras(self, res):
        """The peers' obvious variants, once each, untimed: what they lose."""
        ini = os.path.join(HERE, "peers", "alembic.ini")
        for name, cmd in (("alembic_naive", ["alembic", "-c", ini, "-x", f"db={self.w}", "-x", "naive=1", "upgrade", "head"]),
                          ("sqlite_utils_api", [PY, os.path.join(HERE, "peers", "migrate_sqlite_utils.py"), "--mode", "api", self.w])):
            self.prepare()
            rec, p = self.run_one(name, cmd)
            rec["stderr_tail"] = p.stderr[-1500:]
            rec["verify"] = self.verify(name)
            res["extras"][name] = rec
            print(f"extra {name}: exit {rec['exit']}, problems {rec['verify'].get('problems')}", file=sys.stderr)

    def profile(self, res):
        """Phase timings: vmdb --progress (stderr), the floor with .timer on."""
        for name, cmd in (("vmdb", [self.a.vmdb, "migrate", "--db", self.w, "--no-backup", "--progress"]),
                          ("vmdb_counts", [self.a.vmdb, "migrate", "--db", self.w, "--no-backup", "--verify", "counts", "--progress"]),
                          ("floor", f"sqlite3 -cmd '.timer on' {self.w} < {FLOOR}")):
            self.prepare()
            rec, p = self.run_one(name, cmd)
            text = p.stderr if name != "floor" else p.stdout
            res["profile"][name] = {"wall_s": rec["wall_s"], "text": text[-6000:]}
            with open(os.path.join(self.out, f"profile_{name}.txt"), "w") as f:
                f.write(text)


def online_figures(obj):
    """The `online` figures of vmdb's JSON report (migrations[].verification.online), the longest kept."""
    found = [m["verification"]["online"] for m in (obj.get("migrations") or [])
             if isinstance(m.get("verification"), dict) and m["verification"].get("online")]
    return max(found, key=lambda o: o.get("longestTransactionMilliseconds", 0)) if found else None


class Online(Migrate):
    """migrate-online: the floor, offline vmdb and online vmdb, each while deployer.py writes.

    Per round, in an order rotated each round, on a fresh copy: floor (with lockprobe),
    vmdb (offline, with lockprobe), online (`migrate --online`, defaults) and online_p025
    (`--pace 0.25`). deployer.py starts before each and stops after it; every result is
    checked with verify_v3.py --deployer-log. Results go to DIR/results/N/online.json.
    """

    def __init__(self, a):
        super().__init__(a)
        v, w = a.vmdb, self.w
        # To v3, as the floor goes: v4 (provision intents) is a separate additive step.
        base = [v, "migrate", "--db", w, "--no-backup", "--format", "json", "--to", "3"]
        # The floor as a deployer's neighbour would have to run it: BEGIN IMMEDIATE (a deferred BEGIN that
        # reads first can lose its snapshot to the deployer's commit, SQLITE_BUSY_SNAPSHOT, which no busy
        # handler retries) and vmdb's 5 s busy timeout (the CLI's default, 0, fails on the deployer's first write).
        floor = f"sed 's/^BEGIN;$/BEGIN IMMEDIATE;/' {FLOOR} | sqlite3 -cmd '.timeout 5000' {w}"
        self.impls = {"floor": floor, "vmdb": base, "online": base + ["--online"],
                      "online_p025": base + ["--online", "--pace", "0.25"],
                      # Returns at the cut-over; the next plain migrate (timed, the deployer still writing) empties the old tables.
                      "online_later": base + ["--online", "--drain", "later"],
                      # No pause at all: what an adaptive pace could give at most.
                      "online_p0": base + ["--online", "--pace", "0"]}
        self.probed = {"floor", "vmdb"}
        self.logs = os.path.join(a.data, "deployer")

    def run_with_deployer(self, impl, seed):
        os.makedirs(self.logs, exist_ok=True)
        log = os.path.join(self.logs, f"{impl}.jsonl")
        dep = subprocess.Popen([PY, os.path.join(HERE, "deployer.py"), self.w, "--log", log, "--seed", str(seed)],
                               stdout=subprocess.PIPE, text=True)
        assert dep.stdout.readline().strip() == "ready"
        time.sleep(0.5)  # writing before the migration starts
        probe_impl = impl + "_lock" if impl in self.probed else impl
        cmd = self.impls[impl]
        rec, p = self.run_one(probe_impl, cmd)
        if impl == "online_later" and rec["exit"] == 0:
            t0 = time.monotonic()
            q = subprocess.run([self.a.vmdb, "migrate", "--db", self.w, "--no-backup", "--format", "json", "--to", "3"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
            rec["later_drain_s"] = round(time.monotonic() - t0, 3)
            rec["later_drain_exit"] = q.returncode
        time.sleep(0.5)  # and after it ends
        dep.send_signal(signal.SIGTERM)
        out = dep.stdout.read().strip().splitlines()
        dep.wait()
        rec["impl"] = impl
        try:
            rec["deployer"] = json.loads(out[-1])
        except (ValueError, IndexError):
            rec["deployer"] = {"crashed": True, "exit": dep.returncode}
        if impl != "floor" and p.stdout.strip():
            try:
                o = online_figures(json.loads(p.stdout))
                if o:
                    rec["online"] = o
            except ValueError:
                pass
        if impl == "floor":
            rec["longest_txn_s"] = rec.get("probe", {}).get("longest_blocked_s")
        elif "online" in rec:
            rec["longest_txn_s"] = round(rec["online"]["longestTransactionMilliseconds"] / 1000, 4)
        else:
            rec["longest_txn_s"] = rec.get("lock_self_s")
        return rec, log

    def main(self):
        a = self.a
        res = {"n": a.n, "src_bytes": os.path.getsize(self.src), "load_start": load(), "started": time.strftime("%Y-%m-%d %H:%M:%S %Z"),
               "runs": [], "loads": []}
        impls = a.impls.split(",") if a.impls else list(self.impls)
        if not os.path.exists(self.fresh):
            sh([a.vmdb, "init", "--db", self.fresh], stdout=subprocess.DEVNULL)
        if not os.path.exists(self.ref):  # the floor's result, without a deployer: the schema reference
            self.prepare()
            rec, _ = self.run_one("floor", self.impls["floor"])
            os.replace(self.w, self.ref)
            print(f"N={a.n}: reference floor {rec['wall_s']:.2f} s", file=sys.stderr)
        for r in range(a.runs):
            for j in range(len(impls)):
                impl = impls[(j + r) % len(impls)]
                self.prepare()
                res["loads"].append(load())
                rec, log = self.run_with_deployer(impl, seed=1000 * r + j + 1)
                rec["round"], rec["load"] = r, res["loads"][-1]
                if rec["exit"] == 0:
                    rec["verify"] = self.verify_live(impl, log)
                res["runs"].append(rec)
                d, o = rec["deployer"], rec.get("online") or {}
                lt = rec.get("longest_txn_s")
                print(f"N={a.n} round {r} {impl:12s} {rec['wall_s']:7.2f} s  longest txn {lt if lt is not None else '?'} s  "
                      f"deployer {d.get('writes')} writes {d.get('failures')} failed p99 {d.get('p99_ms')} max {d.get('max_ms')} ms  "
                      f"rss {rec['rss_kb']} KB disk +{rec['peak_extra_disk_bytes'] / 1e6:.0f} MB wal {rec['peak_wal_bytes'] / 1e6:.0f} MB  "
                      f"{'ok' if rec.get('verify', {}).get('ok') else 'CHECK FAILED ' + str(rec.get('verify', {}).get('problems'))[:300]}"
                      f"  load {rec['load']}" + (f"  cut-over {o.get('cutOverMilliseconds', 0):.1f} ms, {o.get('cutOverRetries')} retries" if o else ""),
                      file=sys.stderr)
        res["load_end"] = load()
        with open(os.path.join(self.out, "online.json"), "w") as f:
            json.dump(res, f, indent=1)
        shutil.rmtree(self.wd, ignore_errors=True)
        print(summarize_online(res), file=sys.stderr)

    def verify_live(self, impl, log):
        args = [PY, os.path.join(HERE, "verify_v3.py"), self.src, self.w, "--expect", "v3", "--label", impl,
                "--fresh", self.fresh, "--deployer-log", log]
        if impl != "floor":
            args += ["--ref", self.ref]
        if self.a.n >= 1_000_000:
            args.append("--quick")
        p = subprocess.run(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        try:
            v = json.loads(p.stdout.strip().splitlines()[-1])
        except (ValueError, IndexError):
            return {"label": impl, "ok": False, "problems": [f"verify crashed: {p.stderr[-800:]}"]}
        if impl != "floor" and not v.get("semantic_equal_to_floor", False):
            v["ok"] = False
            v["problems"].append("schema differs from the floor's: " + "; ".join(v.get("semantic_diffs_vs_floor", []))[:300])
        return v


def summarize_online(res):
    by = {}
    for r in res["runs"]:
        by.setdefault(r["impl"], []).append(r)
    med = lambda xs: stats(xs)["median"] if stats(xs) else None
    ok = lambda rs: [r for r in rs if r["exit"] == 0]
    base = {k: med([r["wall_s"] for r in ok(by.get(k, []))]) for k in ("floor", "vmdb")}

    def rng(xs, f="{:.2f}"):
        s = stats(xs)
        if not s:
            return "–"
        return f.format(s["median"]) + (f" ({f.format(s['min'])}–{f.format(s['max'])})" if s["n"] > 1 else "")
    L = [f"### migrate with a deployer writing, N = {res['n']:,} VMs (v2 file {res['src_bytes'] / 1e6:.0f} MB); "
         f"load average {res['load_start']} -> {res['load_end']}", "",
         "| implementation | wall s | × offline | × floor | longest vmdb write txn ms | deployer writes | failures | p99 ms | max ms | longest stall s | peak extra disk MB | peak WAL MB | peak RSS MiB | checked |",
         "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|"]
    for impl, rs in by.items():
        g = ok(rs)
        if not g:
            L.append(f"| {impl} | failed ({rs[-1].get('stderr_tail', '')[-120:]!r}) |" + " |" * 13)
            continue
        walls = [r["wall_s"] for r in g]
        ratio = lambda b: rng([r["wall_s"] / base[b] for r in g]) if base.get(b) else "–"
        dep = [r.get("deployer", {}) for r in g]
        checks = [r.get("verify", {}) for r in g]
        bad = [c for c in checks if not c.get("ok")]
        check = f"{len(checks) - len(bad)}/{len(checks)} ok" + ("" if not bad else ": " + "; ".join(bad[0].get("problems", []))[:200])
        L.append(f"| {impl} | {rng(walls)} | {ratio('vmdb')} | {ratio('floor')} | "
                 f"{rng([r['longest_txn_s'] * 1000 for r in g if r.get('longest_txn_s') is not None], '{:.0f}')} | "
                 f"{rng([d.get('writes') for d in dep], '{:.0f}')} | {rng([d.get('failures') for d in dep], '{:.0f}')} | "
                 f"{rng([d.get('p99_ms') for d in dep], '{:.1f}')} | {rng([d.get('max_ms') for d in dep], '{:.0f}')} | "
                 f"{rng([d.get('longest_stall_s') for d in dep])} | "
                 f"{rng([r['peak_extra_disk_bytes'] / 1e6 for r in g], '{:.0f}')} | {rng([r['peak_wal_bytes'] / 1e6 for r in g], '{:.0f}')} | "
                 f"{rng([(r['rss_kb'] or 0) / 1024 for r in g], '{:.1f}')} | {check} |")
    L.append("")
    for impl, rs in by.items():
        failed = [r for r in rs if r["exit"] != 0]
        if failed:
            L.append(f"- {impl}: **{len(failed)} of {len(rs)} runs failed**: "
                     + "; ".join(repr(r.get("stderr_tail", "").strip()[-160:]) for r in failed))
        os_ = [r["online"] for r in ok(rs) if r.get("online")]
        if os_:
            L.append(f"- {impl}: {rng([o['transactions'] for o in os_], '{:.0f}')} write transactions, "
                     f"{rng([o['totalTransactionMilliseconds'] / 1000 for o in os_])} s under the lock in all; longest: "
                     f"{', '.join(sorted({o.get('longestTransaction', '') for o in os_}))}; cut-over {rng([o['cutOverMilliseconds'] for o in os_], '{:.1f}')} ms "
                     f"after {rng([o['cutOverRetries'] for o in os_], '{:.0f}')} retries; copy {rng([o['copySeconds'] for o in os_])} s, "
                     f"verify {rng([o['verifySeconds'] for o in os_])} s, drain {rng([o['drainSeconds'] for o in os_])} s; "
                     f"at the cut-over (v3 in place) after {rng([o.get('secondsToCutOver', 0) for o in os_])} s"
                     + (f", the next migrate's drain {rng([r['later_drain_s'] for r in ok(rs) if 'later_drain_s' in r])} s" if impl == "online_later" else "") + "; "
                     f"{rng([o['rowsCopied'] for o in os_], '{:.0f}')} rows copied, {rng([o['changesApplied'] for o in os_], '{:.0f}')} changes applied; "
                     f"file growth {rng([o['fileGrowthBytes'] / 1e6 for o in os_], '{:.0f}')} MB, its peak WAL {rng([o['peakWALBytes'] / 1e6 for o in os_], '{:.0f}')} MB")
        pr = [r["probe"]["longest_blocked_s"] for r in ok(rs) if "probe" in r]
        if pr:
            L.append(f"- {impl}: lockprobe saw BEGIN IMMEDIATE blocked at most {rng(pr)} s"
                     + (f"; vmdb's own lockSeconds {rng([r.get('lock_self_s') for r in ok(rs)])} s" if impl != "floor" else ""))
        errs = {}
        for r in ok(rs):
            for m, c in r.get("deployer", {}).get("errors", {}).items():
                errs[m] = errs.get(m, 0) + c
        if errs:
            L.append(f"- {impl}: deployer errors: " + "; ".join(f"{m!r} × {c}" for m, c in errs.items()))
    return "\n".join(L)


def stats(values):
    values = [v for v in values if v is not None]
    if not values:
        return None
    return {"median": statistics.median(values), "min": min(values), "max": max(values), "n": len(values)}


def summarize_migrate(res):
    by = {}
    for r in res["runs"]:
        by.setdefault(r["impl"], []).append(r)
    st = {impl: stats([r["wall_s"] for r in rs if r["exit"] == 0]) for impl, rs in by.items()}
    floor = st.get("floor", {}) and st["floor"]["median"]
    L = [f"### N = {res['n']:,} VMs (v2 file {res['src_bytes'] / 1e6:.0f} MB; vms {res['objects_bytes'].get('vms', 0) / 1e6:.0f} MB, "
         f"vm_events {res['objects_bytes'].get('vm_events', 0) / 1e6:.0f} MB); load average {res['load_start']} -> {res['load_end']}",
         "", "| implementation | median s | min–max s | runs | × floor | peak RSS MiB | peak extra disk MB | peak WAL MB | checked |",
         "|---|---:|---:|---:|---:|---:|---:|---:|---|"]
    for impl, rs in by.items():
        s = st[impl]
        if not s:
            L.append(f"| {impl} | failed | | | | | | | {rs[-1].get('stderr_tail', '')[-80:]!r} |")
            continue
        ratio = f"{s['median'] / floor:.2f}" if floor else "-"
        rss = max((r["rss_kb"] or 0) for r in rs) / 1024
        disk = max(r["peak_extra_disk_bytes"] for r in rs) / 1e6
        wal = max(r["peak_wal_bytes"] for r in rs) / 1e6
        v = res["verify"].get(impl)
        check = "-" if v is None else ("ok" if v.get("ok") else "**FAIL**: " + "; ".join(v.get("problems", []))[:300])
        if v and v.get("ok") and "semantic_equal_to_floor" in v:
            check += ", same schema as the floor" if v["semantic_equal_to_floor"] else f", schema differs from the floor ({len(v.get('semantic_diffs_vs_floor', []))})"
        L.append(f"| {impl} | {s['median']:.2f} | {s['min']:.2f}–{s['max']:.2f} | {s['n']} | {ratio} | {rss:.1f} | {disk:.0f} | {wal:.0f} | {check} |")
    L.append("")
    for impl in ("vmdb_lock", "floor_lock", "vmdb", "vmdb_counts", "vmdb_backup"):
        rs = by.get(impl, [])
        pr = stats([r["probe"]["longest_blocked_s"] for r in rs if "probe" in r])
        ls = stats([r.get("lock_self_s") for r in rs])
        if pr:
            L.append(f"- write lock, {impl}: probe saw BEGIN IMMEDIATE blocked at most {pr['median']:.2f} s median "
                     f"({pr['min']:.2f}–{pr['max']:.2f})" + (f"; vmdb's own lockSeconds {ls['median']:.2f} s" if ls else "")
                     + (f"; × floor time {pr['median'] / floor:.2f}" if floor else ""))
        elif ls:
            L.append(f"- write lock, {impl}: vmdb's own lockSeconds {ls['median']:.2f} s ({ls['min']:.2f}–{ls['max']:.2f})"
                     + (f"; × floor time {ls['median'] / floor:.2f}" if floor else ""))
    return "\n".join(L)


def repair(a):
    d = os.path.join(a.data, "repair")
    marker = os.path.join(d, f".prepared_{a.records}")
    out = os.path.join(a.data, "results", "repair")
    os.makedirs(out, exist_ok=True)
    if not os.path.exists(marker):
        shutil.rmtree(d, ignore_errors=True)
        sh([a.bench, "repair", "prepare", "--dir", d, "--records", str(a.records)])
        open(marker, "w").close()
    res = {"records": a.records, "load_start": load(), "runs": []}
    phases = ["scan", "run"]
    for r in range(a.runs):
        for j in range(2):
            phase = phases[(j + r) % 2]
            rss_file = os.path.join(out, ".rss")
            t = time.monotonic()
            p = subprocess.run(["/usr/bin/time", "-f", "%M", "-o", rss_file, a.bench, "repair", phase, "--dir", d],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
            wall = time.monotonic() - t
            rec = {"phase": phase, "round": r, "wall_s": round(wall, 3), "exit": p.returncode,
                   "rss_kb": int(open(rss_file).read().split()[-1]), "line": p.stdout.strip()[-400:]}
            res["runs"].append(rec)
            print(f"repair {phase}: {wall:.2f} s rss {rec['rss_kb']} KB: {rec['line']}", file=sys.stderr)
    res["load_end"] = load()
    with open(os.path.join(out, f"repair_{a.records}.json"), "w") as f:
        json.dump(res, f, indent=1)


def store(a):
    out = os.path.join(a.data, "results", "store")
    os.makedirs(out, exist_ok=True)
    d = os.path.join(a.data, "store")
    shutil.rmtree(d, ignore_errors=True)
    os.makedirs(d)
    rss_file = os.path.join(out, ".rss")
    res = {"vms": a.vms, "load_start": load()}
    t = time.monotonic()
    p = subprocess.run(["/usr/bin/time", "-f", "%M", "-o", rss_file, a.bench, "store", "--vms", str(a.vms), "--directory", d],
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    res.update(wall_s=round(time.monotonic() - t, 2), exit=p.returncode, output=p.stdout, stderr=p.stderr[-1000:],
               rss_kb=int(open(rss_file).read().split()[-1]), load_end=load())
    shutil.rmtree(d, ignore_errors=True)
    print(p.stdout, file=sys.stderr)
    with open(os.path.join(out, f"store_{a.vms}.json"), "w") as f:
        json.dump(res, f, indent=1)


def report(a):
    root = os.path.join(a.data, "results")
    L = []
    for n in sorted((int(x) for x in os.listdir(root) if x.isdigit())):
        path = os.path.join(root, str(n), "migrate.json")
        if os.path.exists(path):
            res = json.load(open(path))
            L += [summarize_migrate(res), ""]
            for name, e in res.get("extras", {}).items():
                L.append(f"- {name}: exit {e['exit']}; problems: {'; '.join(e['verify'].get('problems', [])) or 'none'}"
                         + (f"; stderr: {e['stderr_tail'].strip().splitlines()[-1][:200]!r}" if e['exit'] and e.get('stderr_tail') else ""))
            L.append("")
        path = os.path.join(root, str(n), "online.json")
        if os.path.exists(path):
            L += [summarize_online(json.load(open(path))), ""]
    for f in sorted(os.listdir(os.path.join(root, "repair"))) if os.path.isdir(os.path.join(root, "repair")) else []:
        if f.endswith(".json"):
            res = json.load(open(os.path.join(root, "repair", f)))
            L.append(f"### repair, {res['records']:,} records vs ~{res['records']:,} inventory entries (load {res['load_start']} -> {res['load_end']})")
            L += ["", "| phase | median s | min–max s | peak RSS MiB | last line |", "|---|---:|---:|---:|---|"]
            for phase in ("scan", "run"):
                rs = [r for r in res["runs"] if r["phase"] == phase]
                s = stats([r["wall_s"] for r in rs])
                L.append(f"| {phase} | {s['median']:.2f} | {s['min']:.2f}–{s['max']:.2f} | {max(r['rss_kb'] for r in rs) / 1024:.1f} | {rs[-1]['line']} |")
            L.append("")
    for f in sorted(os.listdir(os.path.join(root, "store"))) if os.path.isdir(os.path.join(root, "store")) else []:
        if f.endswith(".json"):
            res = json.load(open(os.path.join(root, "store", f)))
            L += [f"### store, {res['vms']:,} VMs (wall {res['wall_s']} s, peak RSS {res['rss_kb'] / 1024:.1f} MiB, load {res['load_start']} -> {res['load_end']})", "", res["output"], ""]
    print("\n".join(L))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("section", choices=["migrate", "migrate-online", "repair", "store", "report"])
    ap.add_argument("--data", default=os.environ.get("VMDB_BENCH_DATA", "/tmp/vmdb-bench-data"))
    ap.add_argument("--n", type=int)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--vmdb")
    ap.add_argument("--bench")
    ap.add_argument("--vmdb-alt", help="migrate: a candidate vmdb build, run as impls alt and alt_counts")
    ap.add_argument("--no-profile", action="store_true")
    ap.add_argument("--results-name", default="migrate.json")
    ap.add_argument("--impls")
    ap.add_argument("--extras", action="store_true")
    ap.add_argument("--records", type=int, default=1_000_000)
    ap.add_argument("--vms", type=int, default=100_000)
    a = ap.parse_args()
    {"migrate": lambda: Migrate(a).main(), "migrate-online": lambda: Online(a).main(), "repair": lambda: repair(a), "store": lambda: store(a), "report": lambda: report(a)}[a.section]()


if __name__ == "__main__":
    main()
