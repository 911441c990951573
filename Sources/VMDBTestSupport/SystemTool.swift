import Foundation

/// Runs a system tool (`mount`, `chattr`) quietly and returns its exit status:
/// -1 when it cannot be started at all.
public enum SystemTool {
    @discardableResult
    public static func run(_ tool: String, _ arguments: [String]) -> Int32 {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: tool)
        process.arguments = arguments
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        guard (try? process.run()) != nil else { return -1 }
        process.waitUntilExit()
        return process.terminationStatus
    }

    /// Whether `chattr +i` works here (the tool exists and the temporary directory's
    /// filesystem has the immutable attribute): what stops root from writing a file.
    public static let hasChattr: Bool = {
        guard let directory = try? TemporaryDirectory("chattr-probe") else { return false }
        let file = directory.file("probe")
        _ = FileManager.default.createFile(atPath: file, contents: Data("x".utf8))
        guard run("/usr/bin/chattr", ["+i", file]) == 0 else { return false }
        return run("/usr/bin/chattr", ["-i", file]) == 0
    }()
}
