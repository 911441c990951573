import Foundation
import Synchronization
import VMDBTestSupport

/// Environments for `PostgresLocation(url:environment:)` that see nothing of the machine's.
enum Environment {
    /// Only HOME, in a folder of its own (no ~/.pgpass, no ~/.pg_service.conf), and a system service
    /// folder that does not exist.
    static let home: [String: String] = {
        let home = try! Environment.folder()
        return ["HOME": home, "PGSYSCONFDIR": home + "/no-such-folder"]
    }()

    /// A fresh folder, kept until the process ends (the environments above point into it).
    static func folder() throws -> String {
        let directory = try TemporaryDirectory("postgres-location")
        kept.withLock { $0.append(directory) }
        return directory.path
    }

    static func write(_ text: String, to path: String, mode: Int) throws {
        try text.write(toFile: path, atomically: true, encoding: .utf8)
        try FileManager.default.setAttributes([.posixPermissions: mode], ofItemAtPath: path)
    }

    private static let kept = Mutex<[TemporaryDirectory]>([])
}
