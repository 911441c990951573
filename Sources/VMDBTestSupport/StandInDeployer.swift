import Foundation

/// A separate process that behaves like the deployer (Python's sqlite3 on the
/// same system SQLite): it inserts VMs and, given existing rows, updates them,
/// with a busy timeout, one transaction per write, and prints every write
/// SQLite acknowledged, until told to stop:
///
///     i NETWORK VM_ID          an insert (v2-shaped: also valid on v3, which keeps these columns)
///     u ID STATUS              an update of an existing VM, keyed by its rowid
///
/// so a test can check afterwards that every acknowledged write is there.
public final class StandInDeployer: Sendable {
    private let process: Process
    private let stopFile: String
    private let outputPath: String
    private let errorPath: String

    private static let script = #"""
import os, sqlite3, sys, time
path, stop, prefix, existing, pause = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4]), float(sys.argv[5])
con = sqlite3.connect(path, timeout=60, isolation_level=None)
networks = ["main", "qa", "test", "dev"]
n = 0
while not os.path.exists(stop):
    n += 1
    try:
        con.execute("BEGIN IMMEDIATE")
        if n % 3 == 0 and existing > 0:
            row = (n * 7919) % existing + 1
            status = f"upd-{prefix}-{n}"
            con.execute("UPDATE vms SET status = ?, updated_at = ? WHERE id = ?", (status, f"2027-01-01T00:00:{n % 60:02d}Z", row))
            con.execute("COMMIT")
            print(f"u {row} {status}", flush=True)
        else:
            network, vm_id = networks[n % 4], f"{prefix}{n:05d}"
            con.execute("INSERT INTO vms (vm_id, network, name, status, created_at, updated_at) "
                        "VALUES (?, ?, ?, 'running', '2026-11-27T00:00:00Z', '2026-11-27T00:00:00Z')",
                        (vm_id, network, "stand-in " + vm_id))
            con.execute("COMMIT")
            print(f"i {network} {vm_id}", flush=True)
    except sqlite3.Error as error:
        try: con.execute("ROLLBACK")
        except sqlite3.Error: pass
        print("error " + str(error), file=sys.stderr, flush=True)
    time.sleep(pause)
"""#

    /// Starts writing into the v2 or v3 database at `path`; updates touch rows with ids 1…`existingRows`
    /// (none when 0: inserts only, spread over main, qa, test and dev);
    /// `pause` seconds between writes (each write is a transaction with its fsync, as a deployer's).
    public init(path: String, prefix: String = "w", existingRows: Int = 0, pause: Double = 0.005, in directory: TemporaryDirectory) throws {
        stopFile = directory.file("stop-\(prefix)")
        outputPath = directory.file("acknowledged-\(prefix)")
        errorPath = directory.file("errors-\(prefix)")
        _ = FileManager.default.createFile(atPath: outputPath, contents: nil)
        _ = FileManager.default.createFile(atPath: errorPath, contents: nil)
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["python3", "-c", Self.script, path, stopFile, prefix, String(existingRows), String(pause)]
        process.standardOutput = try FileHandle(forWritingTo: URL(fileURLWithPath: outputPath))
        process.standardError = try FileHandle(forWritingTo: URL(fileURLWithPath: errorPath))
        process.standardInput = FileHandle.nullDevice
        try process.run()
        self.process = process
    }

    /// Acknowledged writes so far, one line each.
    public var acknowledged: [String] {
        ((try? String(contentsOfFile: outputPath, encoding: .utf8)) ?? "").split(separator: "\n").map(String.init)
    }

    /// Errors the writer met (each a write that was not acknowledged).
    public var errors: [String] {
        ((try? String(contentsOfFile: errorPath, encoding: .utf8)) ?? "").split(separator: "\n").map(String.init)
    }

    public func waitForAcknowledged(_ count: Int, timeout: Double = 30) {
        let deadline = Date().addingTimeInterval(timeout)
        while acknowledged.count < count, Date() < deadline { usleep(10_000) }
    }

    /// Stops the writer and returns every acknowledged write.
    public func stop() -> [String] {
        _ = FileManager.default.createFile(atPath: stopFile, contents: nil)
        process.waitUntilExit()
        return acknowledged
    }
}
