import Foundation

/// A separate process that behaves like the deployer: it inserts VMs into the
/// live database with a busy timeout, one transaction each, and prints every id
/// SQLite acknowledged, until told to stop. Python's sqlite3 module talks to
/// the same system SQLite, in a real second process.
public final class StandInDeployer: Sendable {
    private let process: Process
    private let stopFile: String
    private let outputPath: String

    private static let script = #"""
import os, sqlite3, sys, time
path, stop, network, prefix = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4]
con = sqlite3.connect(path, timeout=30, isolation_level=None)
n = 0
while not os.path.exists(stop):
    n += 1
    vm_id = f"{prefix}{n:05d}"
    try:
        con.execute("BEGIN IMMEDIATE")
        con.execute("INSERT INTO vms (vm_id, network, name, status, created_at, updated_at) "
                    "VALUES (?, ?, ?, 'running', '2026-11-27T00:00:00Z', '2026-11-27T00:00:00Z')",
                    (vm_id, network, "stand-in " + vm_id))
        con.execute("COMMIT")
        print(vm_id, flush=True)
    except sqlite3.Error as error:
        try: con.execute("ROLLBACK")
        except sqlite3.Error: pass
        print("error " + str(error), file=sys.stderr, flush=True)
    time.sleep(0.002)
"""#

    /// Starts writing into the v2 or v3 database at `path`, VMs named `prefix00001`… on `network`.
    public init(path: String, network: String = "main", prefix: String = "w", in directory: TemporaryDirectory) throws {
        stopFile = directory.file("stop-\(prefix)")
        outputPath = directory.file("acknowledged-\(prefix)")
        _ = FileManager.default.createFile(atPath: outputPath, contents: nil)
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["python3", "-c", Self.script, path, stopFile, network, prefix]
        process.standardOutput = try FileHandle(forWritingTo: URL(fileURLWithPath: outputPath))
        process.standardError = FileHandle.nullDevice
        process.standardInput = FileHandle.nullDevice
        try process.run()
        self.process = process
    }

    /// Ids acknowledged so far.
    public var acknowledged: [String] {
        ((try? String(contentsOfFile: outputPath, encoding: .utf8)) ?? "").split(separator: "\n").map(String.init)
    }

    /// Waits until at least `count` inserts were acknowledged (or `timeout` passes).
    public func waitForAcknowledged(_ count: Int, timeout: Double = 20) {
        let deadline = Date().addingTimeInterval(timeout)
        while acknowledged.count < count, Date() < deadline { usleep(10_000) }
    }

    /// Stops the writer and returns every id it was told succeeded.
    public func stop() -> [String] {
        _ = FileManager.default.createFile(atPath: stopFile, contents: nil)
        process.waitUntilExit()
        return acknowledged
    }
}
