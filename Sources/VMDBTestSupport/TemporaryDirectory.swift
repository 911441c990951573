import Foundation
import MigrationKit
import SQLiteFiles

/// A fresh folder under the system's temporary directory, removed when released.
/// Tests open fixtures only as copies in one of these, never in place.
public final class TemporaryDirectory: Sendable {
    public let path: String

    public init(_ label: String = "test") throws {
        path = try PrivateDirectory.make("vmdb-" + label)
    }

    /// A path inside the folder (the file is not created).
    public func file(_ name: String) -> String {
        (path as NSString).appendingPathComponent(name)
    }

    deinit {
        try? FileManager.default.removeItem(atPath: path)
    }
}
