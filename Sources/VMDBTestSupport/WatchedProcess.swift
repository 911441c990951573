import Foundation

/// A `vmdb` child process whose standard error a test watches as it runs, to
/// act at a chosen moment: SIGKILL it when a phase starts (plus a delay), or
/// freeze it (SIGSTOP) while the test changes the world, then let it go on.
///
/// `--progress` makes vmdb print each phase on standard error as it starts
/// (`vmdb: copy vms (100000 to do)…`) and ends (`vmdb: copy vms done in …`),
/// so a marker such as `"vmdb: copy vms"` names a moment in the run.
public final class WatchedProcess: @unchecked Sendable {
    // @unchecked: used from the one test that started it; the Process is only signalled and waited on.

    /// How a watched run ended.
    public struct Outcome: Sendable {
        public let exitCode: Int32
        /// True when the test's SIGKILL ended it.
        public let wasKilled: Bool
        public let standardOutput: String
        public let standardError: String
        /// Seconds from start to end.
        public let seconds: Double
    }

    public let process: Process
    private let outPath: String
    private let errPath: String
    private let started = Date()
    private var killedByTest = false

    /// Starts the built `vmdb` (or `executable`) with `arguments`; output goes to files in `directory`.
    public init(_ arguments: [String], executable: String = VMDBProcess.binaryPath, in directory: TemporaryDirectory,
                label: String = "child") throws {
        outPath = directory.file("\(label).stdout")
        errPath = directory.file("\(label).stderr")
        _ = FileManager.default.createFile(atPath: outPath, contents: nil)
        _ = FileManager.default.createFile(atPath: errPath, contents: nil)
        process = try VMDBProcess.start(arguments, executable: executable,
                                        standardOutput: try FileHandle(forWritingTo: URL(fileURLWithPath: outPath)),
                                        standardError: try FileHandle(forWritingTo: URL(fileURLWithPath: errPath)))
    }

    public var standardError: String { (try? String(contentsOfFile: errPath, encoding: .utf8)) ?? "" }

    /// The size of standard error so far: a `stat`, so waiting does not re-read the file on every poll.
    private var standardErrorSize: Int {
        var info = stat()
        return stat(errPath, &info) == 0 ? Int(info.st_size) : 0
    }
    public var elapsed: Double { Date().timeIntervalSince(started) }

    /// Waits until standard error contains `marker`; false when the process ended first or `timeout` passed.
    @discardableResult
    public func waitFor(_ marker: String, timeout: Double = 120) -> Bool {
        let deadline = Date().addingTimeInterval(timeout)
        var seen = -1
        while Date() < deadline {
            let size = standardErrorSize
            if size != seen {
                seen = size
                if standardError.contains(marker) { return true }
            }
            if !process.isRunning { return standardError.contains(marker) }
            usleep(500)
        }
        return false
    }

    /// Sleeps `seconds` unless the process ends first.
    public func sleep(_ seconds: Double) {
        let deadline = Date().addingTimeInterval(seconds)
        while Date() < deadline, process.isRunning { usleep(500) }
    }

    /// SIGKILL, as a power cut or the OOM killer ends a process: no cleanup runs.
    public func kill() {
        guard process.isRunning else { return }
        killedByTest = Foundation.kill(process.processIdentifier, SIGKILL) == 0
    }

    /// Freezes the process (SIGSTOP) where it is.
    public func pause() { _ = Foundation.kill(process.processIdentifier, SIGSTOP) }

    /// Lets a paused process go on (SIGCONT).
    public func resume() { _ = Foundation.kill(process.processIdentifier, SIGCONT) }

    /// Waits for the end (SIGKILLing it after `timeout`: `wasKilled` then says so) and returns what happened.
    public func finish(timeout: Double = 300) -> Outcome {
        let deadline = Date().addingTimeInterval(timeout)
        while process.isRunning, Date() < deadline { usleep(1000) }
        kill()
        process.waitUntilExit()
        let killed = killedByTest && process.terminationReason == .uncaughtSignal
        return Outcome(exitCode: process.terminationStatus, wasKilled: killed,
                       standardOutput: (try? String(contentsOfFile: outPath, encoding: .utf8)) ?? "",
                       standardError: standardError, seconds: elapsed)
    }

    /// Runs `vmdb arguments…` and SIGKILLs it `delay` seconds after `marker` appears on standard error
    /// (or after `delay` seconds from the start when `marker` is nil). The run may finish first.
    public static func run(_ arguments: [String], killAt marker: String?, after delay: Double,
                           in directory: TemporaryDirectory, label: String = "child") throws -> Outcome {
        let child = try WatchedProcess(arguments, in: directory, label: label)
        if let marker {
            if child.waitFor(marker) { child.sleep(delay); child.kill() }
        } else {
            child.sleep(delay)
            child.kill()
        }
        return child.finish()
    }
}
