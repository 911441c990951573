import Foundation

/// Runs the built `vmdb` binary as a child process, as an operator or a script would.
public enum VMDBProcess {
    public struct Result: Sendable {
        public let exitCode: Int32
        public let standardOutput: String
        public let standardError: String
        /// Wall-clock seconds from start to exit, measured beside the child (not by an awaiting task, which may wait for a thread).
        public let seconds: Double
    }

    /// The `vmdb` built beside the test bundle.
    public static var binaryPath: String { builtExecutable("vmdb") }

    /// An executable of this package (`vmdb`, `vmdb-test-daemon`), built beside the test bundle.
    public static func builtExecutable(_ name: String) -> String {
        let buildFolder = URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath().deletingLastPathComponent()
        for candidate in [buildFolder, buildFolder.deletingLastPathComponent()] {
            let path = candidate.appendingPathComponent(name).path
            if FileManager.default.isExecutableFile(atPath: path) { return path }
        }
        return (Fixtures.repositoryRoot as NSString).appendingPathComponent(".build/debug/\(name)")
    }

    /// Starts `vmdb arguments…` (or another of the package's executables) and returns the process
    /// without waiting (for kill tests).
    public static func start(_ arguments: [String], executable: String = binaryPath, environment: [String: String] = [:],
                             standardOutput: FileHandle? = nil, standardError: FileHandle? = nil) throws -> Process {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        var env = ProcessInfo.processInfo.environment
        env.removeValue(forKey: "VMDB_DB")
        for (key, value) in environment { env[key] = value }
        process.environment = env
        process.standardInput = FileHandle.nullDevice
        process.standardOutput = standardOutput ?? FileHandle.nullDevice
        process.standardError = standardError ?? FileHandle.nullDevice
        try process.run()
        return process
    }

    /// Runs `vmdb arguments…` to completion and captures its output.
    public static func run(_ arguments: [String], environment: [String: String] = [:]) throws -> Result {
        let directory = try TemporaryDirectory("process")
        let outPath = directory.file("stdout"), errPath = directory.file("stderr")
        _ = FileManager.default.createFile(atPath: outPath, contents: nil)
        _ = FileManager.default.createFile(atPath: errPath, contents: nil)
        let out = try FileHandle(forWritingTo: URL(fileURLWithPath: outPath))
        let err = try FileHandle(forWritingTo: URL(fileURLWithPath: errPath))
        let started = Date()
        let process = try start(arguments, environment: environment, standardOutput: out, standardError: err)
        process.waitUntilExit()
        let seconds = Date().timeIntervalSince(started)
        try out.close()
        try err.close()
        return Result(exitCode: process.terminationStatus,
                      standardOutput: try String(contentsOfFile: outPath, encoding: .utf8),
                      standardError: try String(contentsOfFile: errPath, encoding: .utf8),
                      seconds: seconds)
    }
}
