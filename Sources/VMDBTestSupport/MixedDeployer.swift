import Foundation

/// A deployer stand-in that makes every kind of write SQLite has, from its own
/// process (Python's sqlite3 on the system SQLite, foreign keys on, one
/// transaction per write), and logs each write SQLite acknowledged as the exact
/// statements and values it ran, one JSON line per transaction.
///
/// The log is an oracle: replayed in order on a copy of the database as it was
/// (``replay(_:onto:)``) and migrated offline there, it must give exactly what an
/// online migration run beside the live deployer gave.
///
/// - ``Mode/everyWrite``: inserts (some with a NULL or empty network), updates of any
///   column (status, network: the column the events' copy joins on, vm_id), deletes
///   with their cascades, `INSERT OR REPLACE` by unique key and by rowid, UPSERT, and
///   inserts, updates (of their VM too) and deletes of events; v2 statements only.
/// - ``Mode/bothSchemas``: only writes that mean the same on v2 and on v3, so the
///   deployer can keep writing across the cut-over.
/// - ``Mode/reprovision``: a deployer that re-provisions by `INSERT OR REPLACE`, as many
///   SQLite applications write: a VM again under its vm_id (a new rowid, its old row and
///   events deleted), or into another VM's rowid; beside inserts, status updates and events.
public final class MixedDeployer: Sendable {
    public enum Mode: String, Sendable {
        case everyWrite = "every"
        case bothSchemas = "both"
        case reprovision = "reprovision"
    }

    private let process: Process
    private let stopFile: String
    public let logPath: String
    private let errorPath: String

    static let script = #"""
import json, os, random, sqlite3, sys, time
if sys.argv[1] == "replay":
    con = sqlite3.connect(sys.argv[2], isolation_level=None)
    con.execute("PRAGMA foreign_keys = ON")
    for line in open(sys.argv[3]):
        con.execute("BEGIN IMMEDIATE")
        for sql, params in json.loads(line):
            con.execute(sql, params)
        con.execute("COMMIT")
    sys.exit(0)
path, stop, seed, pause, timeout, mode, log = sys.argv[2], sys.argv[3], int(sys.argv[4]), float(sys.argv[5]), float(sys.argv[6]), sys.argv[7], sys.argv[8]
rng = random.Random(seed)
con = sqlite3.connect(path, timeout=timeout, isolation_level=None)
con.execute("PRAGMA foreign_keys = ON")
out = open(log, "a")
nets = ["main", "qa", "test", "dev"]
n = 0

def vm():
    top = con.execute("SELECT max(id) FROM vms").fetchone()[0] or 1
    return con.execute("SELECT id, vm_id FROM vms WHERE id >= ? ORDER BY id LIMIT 1", (rng.randint(1, top),)).fetchone()

def event():
    top = con.execute("SELECT max(id) FROM vm_events").fetchone()[0] or 1
    return con.execute("SELECT id FROM vm_events WHERE id >= ? ORDER BY id LIMIT 1", (rng.randint(1, top),)).fetchone()

def write(n):
    at = f"2027-02-{n % 28 + 1:02d}T{n % 24:02d}:{n % 60:02d}:{n % 59:02d}.{n:06d}Z"
    new_id = f"m{seed}-{n}"
    kinds = ["insert", "status", "network", "delete", "event-detail", "event-delete", "rows"]
    if mode == "reprovision":
        kinds = ["insert", "status", "replace", "replace", "replace", "replace-other", "event-insert"]
    if mode == "every":
        kinds += ["insert-null", "vm_id", "replace", "replace-rowid", "upsert", "event-insert", "event-move"]
    kind = rng.choice(kinds)
    row = vm()
    if kind in ("insert", "insert-null"):
        network = rng.choice(nets) if kind == "insert" else rng.choice([None, ""])
        return [("INSERT INTO vms (vm_id, network, name, status, created_at, updated_at) VALUES (?, ?, ?, 'running', ?, ?)", [new_id, network, "vm " + new_id, at, at])]
    if row is None:
        return []
    if kind == "status":
        return [("UPDATE vms SET status = ?, updated_at = ? WHERE id = ?", [f"s{n}", at, row[0]])]
    if kind == "network":
        return [("UPDATE vms SET network = ?, updated_at = ? WHERE id = ?", [rng.choice(nets), at, row[0]])]
    if kind == "vm_id":
        return [("UPDATE vms SET vm_id = ?, updated_at = ? WHERE id = ? AND NOT EXISTS (SELECT 1 FROM vm_events WHERE vm_events.vm_id = vms.vm_id)", [new_id, at, row[0]])]
    if kind == "delete":
        return [("DELETE FROM vms WHERE id = ?", [row[0]])]
    if kind == "replace":
        return [("INSERT OR REPLACE INTO vms (vm_id, network, name, status, created_at, updated_at) VALUES (?, ?, ?, 'replaced', ?, ?)", [row[1], rng.choice(nets), "replaced " + row[1], at, at])]
    if kind == "replace-other":
        other = vm()
        return [("INSERT OR REPLACE INTO vms (id, vm_id, network, name, status, created_at, updated_at) VALUES (?, ?, ?, ?, 'replaced', ?, ?)", [row[0], other[1], rng.choice(nets), "replaced " + other[1], at, at])]
    if kind == "replace-rowid":
        return [("INSERT OR REPLACE INTO vms (id, vm_id, network, name, status, created_at, updated_at) VALUES (?, ?, ?, ?, 'replaced', ?, ?)", [row[0], new_id, rng.choice(nets), "replaced " + new_id, at, at])]
    if kind == "upsert":
        key = row[1] if rng.random() < 0.5 else new_id
        return [("INSERT INTO vms (vm_id, network, name, status, created_at, updated_at) VALUES (?, ?, ?, 'upserted', ?, ?) ON CONFLICT (vm_id) DO UPDATE SET status = 'upsert-updated', updated_at = excluded.updated_at", [key, rng.choice(nets), "upserted " + key, at, at])]
    if kind == "rows":
        return [("UPDATE vms SET status = ?, updated_at = ? WHERE id BETWEEN ? AND ?", [f"r{n}", at, row[0], row[0] + 5])]
    if kind == "event-insert":
        return [("INSERT INTO vm_events (vm_id, kind, at, detail) VALUES (?, 'note', ?, ?)", [row[1], at, f"e{n}"])]
    e = event()
    if e is None:
        return []
    if kind == "event-detail":
        return [("UPDATE vm_events SET detail = ? WHERE id = ?", [f"d{n}", e[0]])]
    if kind == "event-move":
        return [("UPDATE vm_events SET vm_id = ? WHERE id = ?", [row[1], e[0]])]
    return [("DELETE FROM vm_events WHERE id = ?", [e[0]])]

while not os.path.exists(stop):
    n += 1
    started = time.monotonic()
    try:
        con.execute("BEGIN IMMEDIATE")
        statements = write(n)
        for sql, params in statements:
            con.execute(sql, params)
        con.execute("COMMIT")
        if statements:
            out.write(json.dumps(statements) + "\n")
            out.flush()
        print(f"ok {time.monotonic() - started:.6f}", flush=True)
    except sqlite3.Error as error:
        try: con.execute("ROLLBACK")
        except sqlite3.Error: pass
        kind = "constraint" if "constraint failed" in str(error) else "error"
        print(f"{kind} {error} (at {time.time():.3f}, after {time.monotonic() - started:.3f} s)", file=sys.stderr, flush=True)
    time.sleep(pause)
"""#

    private let latencyPath: String

    /// Starts writing into the v2 database at `path`, `pause` seconds between writes,
    /// waiting up to `busyTimeout` seconds for the lock (as a deployer's busy timeout).
    public init(path: String, mode: Mode, seed: Int = 1, pause: Double = 0.002, busyTimeout: Double = 1,
                in directory: TemporaryDirectory, label: String = "mixed") throws {
        stopFile = directory.file("stop-\(label)")
        logPath = directory.file("writes-\(label).jsonl")
        errorPath = directory.file("errors-\(label)")
        latencyPath = directory.file("latency-\(label)")
        for file in [logPath, errorPath, latencyPath] { _ = FileManager.default.createFile(atPath: file, contents: nil) }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["python3", "-c", Self.script, "run", path, stopFile, String(seed), String(pause), String(busyTimeout), mode.rawValue, logPath]
        process.standardOutput = try FileHandle(forWritingTo: URL(fileURLWithPath: latencyPath))
        process.standardError = try FileHandle(forWritingTo: URL(fileURLWithPath: errorPath))
        process.standardInput = FileHandle.nullDevice
        try process.run()
        self.process = process
    }

    /// Transactions acknowledged so far.
    public var acknowledged: Int { lines(logPath).count }

    /// Writes that failed on something other than the deployer's own constraints
    /// (a busy timeout, a missing table, a trigger's error): none may, ever.
    public var failures: [String] { lines(errorPath).filter { !$0.hasPrefix("constraint ") } }

    /// Writes the deployer's own rules refused (a foreign key, a duplicate id): its business, not a failure.
    public var refusals: [String] { lines(errorPath).filter { $0.hasPrefix("constraint ") } }

    /// Seconds each acknowledged write took, BEGIN to COMMIT, waiting for the lock included.
    public var latencies: [Double] { lines(latencyPath).compactMap { Double($0.dropFirst(3)) } }

    public func waitForAcknowledged(_ count: Int, timeout: Double = 30) {
        let deadline = Date().addingTimeInterval(timeout)
        while acknowledged < count, Date() < deadline { usleep(10_000) }
    }

    /// Stops the writer and waits for it to exit.
    public func stop() {
        _ = FileManager.default.createFile(atPath: stopFile, contents: nil)
        process.waitUntilExit()
    }

    /// Runs every acknowledged transaction of `log`, in order, on the database at `path`.
    public static func replay(_ log: String, onto path: String) throws {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["python3", "-c", script, "replay", path, log]
        try process.run()
        process.waitUntilExit()
        guard process.terminationStatus == 0 else {
            throw NSError(domain: "MixedDeployer", code: Int(process.terminationStatus), userInfo: [NSLocalizedDescriptionKey: "the replay of \(log) failed"])
        }
    }

    private func lines(_ path: String) -> [String] {
        ((try? String(contentsOfFile: path, encoding: .utf8)) ?? "").split(separator: "\n").map(String.init)
    }
}
