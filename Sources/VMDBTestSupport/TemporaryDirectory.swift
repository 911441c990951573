import Foundation

/// A fresh folder under the system's temporary directory, removed when released.
/// Tests open fixtures only as copies in one of these, never in place.
public final class TemporaryDirectory: Sendable {
    public let path: String

    public init(_ label: String = "test") throws {
        let template = (NSTemporaryDirectory() as NSString).appendingPathComponent("vmdb-\(label).XXXXXX")
        var buffer = Array(template.utf8CString)
        guard let made = mkdtemp(&buffer) else {
            throw CocoaError(.fileWriteUnknown)
        }
        path = String(cString: made)
    }

    /// A path inside the folder (the file is not created).
    public func file(_ name: String) -> String {
        (path as NSString).appendingPathComponent(name)
    }

    deinit {
        try? FileManager.default.removeItem(atPath: path)
    }
}
