import Foundation

/// A separate process that behaves like a v2 deployer on PostgreSQL (Debian's python3 with
/// psycopg2, none of vmdb's code), at `statement_timeout` and `lock_timeout` of 1 s: it
/// inserts VMs (with their "created" event), records events for existing VMs without their
/// network (v2's events have none), and updates VMs, one transaction each, and prints every
/// write the server acknowledged, until told to stop:
///
///     i NETWORK VM_ID      a VM and its event
///     e EVENT_ID           an event of an existing VM
///     u ID STATUS          an update of an existing VM, by its id
///
/// Every write the server refused is a line on its error output, with its latency;
/// the last line of its output is `done MAX_MS` (the slowest acknowledged write).
public final class PostgresStandInDeployer: Sendable {
    private let process: Process
    private let stopFile: String
    private let outputPath: String
    private let errorPath: String

    private static let script = #"""
import os, sys, time, psycopg2
url, stop, prefix, existing, pause = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4]), float(sys.argv[5])
con = psycopg2.connect(url)
cur = con.cursor()
cur.execute("SET statement_timeout = '1s'")
cur.execute("SET lock_timeout = '1s'")
con.commit()
networks = ["main", "qa", "test", "dev"]
n, slowest = 0, 0.0
while not os.path.exists(stop):
    n += 1
    start = time.monotonic()
    try:
        if n % 3 == 1 or existing == 0:
            network, vm_id = networks[n % 4], f"{prefix}{n:06d}"
            cur.execute("INSERT INTO vms (vm_id, network, name, status, created_at, updated_at) "
                        "VALUES (%s, %s, %s, 'running', '2026-11-27T00:00:00Z', '2026-11-27T00:00:00Z')",
                        (vm_id, network, "stand-in " + vm_id))
            cur.execute("INSERT INTO vm_events (vm_id, kind, at) VALUES (%s, 'created', '2026-11-27T00:00:00Z')", (vm_id,))
            con.commit()
            line = f"i {network} {vm_id}"
        elif n % 3 == 2:
            row = (n * 7919) % existing + 1
            cur.execute("INSERT INTO vm_events (vm_id, kind, at) SELECT vm_id, 'checked', '2026-11-27T00:00:01Z' FROM vms WHERE id = %s RETURNING id", (row,))
            event = cur.fetchone()[0]
            con.commit()
            line = f"e {event}"
        else:
            row = (n * 7919) % existing + 1
            status = f"upd-{prefix}-{n}"
            cur.execute("UPDATE vms SET status = %s, updated_at = %s WHERE id = %s", (status, f"2027-01-01T00:00:{n % 60:02d}Z", row))
            con.commit()
            line = f"u {row} {status}"
        slowest = max(slowest, time.monotonic() - start)
        print(line, flush=True)
    except psycopg2.Error as error:
        con.rollback()
        print(f"error after {(time.monotonic() - start) * 1000:.0f} ms: {str(error).strip()}", file=sys.stderr, flush=True)
    time.sleep(pause)
print(f"done {slowest * 1000:.1f}", flush=True)
"""#

    /// Starts writing into the v2 (or v3) database at `url`; updates and events touch VMs with ids
    /// 1…`existingRows` (none when 0: inserts only); `pause` seconds between writes.
    public init(url: String, prefix: String = "w", existingRows: Int = 0, pause: Double = 0.002, in directory: TemporaryDirectory) throws {
        stopFile = directory.file("pg-stop-\(prefix)")
        outputPath = directory.file("pg-acknowledged-\(prefix)")
        errorPath = directory.file("pg-errors-\(prefix)")
        _ = FileManager.default.createFile(atPath: outputPath, contents: nil)
        _ = FileManager.default.createFile(atPath: errorPath, contents: nil)
        let process = Process()
        // Debian's python3, where python3-psycopg2 is (.ci/run installs it).
        process.executableURL = URL(fileURLWithPath: "/usr/bin/python3")
        process.arguments = ["-c", Self.script, url, stopFile, prefix, String(existingRows), String(pause)]
        process.standardOutput = try FileHandle(forWritingTo: URL(fileURLWithPath: outputPath))
        process.standardError = try FileHandle(forWritingTo: URL(fileURLWithPath: errorPath))
        process.standardInput = FileHandle.nullDevice
        try process.run()
        self.process = process
    }

    /// Acknowledged writes so far, one line each (the `done` line left out).
    public var acknowledged: [String] {
        lines(outputPath).filter { !$0.hasPrefix("done ") }
    }

    /// Writes the server refused, and anything else the process said on its error output.
    public var errors: [String] { lines(errorPath) }

    /// The slowest acknowledged write, in milliseconds, once stopped.
    public var slowestMilliseconds: Double? {
        lines(outputPath).last { $0.hasPrefix("done ") }.flatMap { Double($0.dropFirst(5)) }
    }

    public func waitForAcknowledged(_ count: Int, timeout: Double = 30) {
        let deadline = Date().addingTimeInterval(timeout)
        while acknowledged.count < count, Date() < deadline, process.isRunning { usleep(10_000) }
    }

    /// Stops the writer and returns every acknowledged write.
    public func stop() -> [String] {
        _ = FileManager.default.createFile(atPath: stopFile, contents: nil)
        process.waitUntilExit()
        return acknowledged
    }

    /// What a test reads back, one string per row: the VMs it inserted, the events it added, the statuses it set.
    public static let insertedVMsQuery = "SELECT network || ' ' || vm_id FROM vms WHERE vm_id LIKE 'w%'"
    public static let addedEventsQuery = "SELECT id::text FROM vm_events WHERE kind = 'checked'"
    public static let statusesQuery = "SELECT id || ' ' || status FROM vms WHERE status LIKE 'upd-%'"

    /// The acknowledged writes (of the default prefix) not in those rows; for an update, its VM's last status.
    public static func missing(_ acknowledged: [String], insertedVMs: [String], addedEvents: [String], statuses: [String]) -> [String] {
        let vms = Set(insertedVMs), events = Set(addedEvents), statuses = Set(statuses)
        var lastStatus: [String: String] = [:]
        var missing: [String] = []
        for line in acknowledged {
            let parts = line.split(separator: " ").map(String.init)
            switch parts.first {
            case "i" where parts.count == 3: if !vms.contains("\(parts[1]) \(parts[2])") { missing.append(line) }
            case "e" where parts.count == 2: if !events.contains(parts[1]) { missing.append(line) }
            case "u" where parts.count == 3: lastStatus[parts[1]] = parts[2]
            default: missing.append("unreadable: \(line)")
            }
        }
        for (id, status) in lastStatus.sorted(by: { $0.key < $1.key }) where !statuses.contains("\(id) \(status)") { missing.append("u \(id) \(status)") }
        return missing
    }

    private func lines(_ path: String) -> [String] {
        ((try? String(contentsOfFile: path, encoding: .utf8)) ?? "").split(separator: "\n").map(String.init)
    }
}
