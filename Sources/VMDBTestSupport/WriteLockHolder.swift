import Foundation

/// Another process holding a database's write lock, as a deployer's long transaction
/// would (Python's sqlite3, `BEGIN IMMEDIATE`, nothing written): ``start()`` returns
/// once it holds the lock (or gives up after 20 s); it lets go at ``stop()``.
public final class WriteLockHolder: @unchecked Sendable {
    // @unchecked: started from one thread (a migrator's seam, or the test) and stopped after, never at once.
    private let path: String, ready: String
    private var process: Process?

    public init(path: String, in directory: TemporaryDirectory) {
        self.path = path
        ready = directory.file("write-lock-held")
    }

    /// Starts the holder; with `waiting` false, returns at once (``isHolding`` says when it holds).
    public func start(waiting: Bool = true) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["python3", "-c", """
            import sqlite3, sys, time
            con = sqlite3.connect(sys.argv[1], timeout=20, isolation_level=None)
            con.execute("BEGIN IMMEDIATE")
            open(sys.argv[2], "w").close()
            time.sleep(60)
            """, path, ready]
        try? process.run()
        self.process = process
        if waiting { _ = waitUntilHolding() }
    }

    public var isHolding: Bool { FileManager.default.fileExists(atPath: ready) }

    @discardableResult
    public func waitUntilHolding(timeout: Double = 20) -> Bool {
        let deadline = Date().addingTimeInterval(timeout)
        while !isHolding, process?.isRunning == true, Date() < deadline { usleep(2_000) }
        return isHolding
    }

    /// Ends the holder (SIGKILL: its transaction rolls back) and waits for it.
    public func stop() {
        guard let process, process.isRunning else { return }
        kill(process.processIdentifier, SIGKILL)
        process.waitUntilExit()
    }
}
