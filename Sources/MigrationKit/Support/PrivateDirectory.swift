import Foundation

/// A new folder only this user can enter (mode 0700, made by `mkdtemp`, so its
/// name cannot be guessed or taken over), under the system's temporary directory.
public enum PrivateDirectory {
    /// Creates `<name>.XXXXXX` in `NSTemporaryDirectory()`; the caller removes it.
    ///
    /// - Returns: the folder's path, or nil with `errno` set when it cannot be made.
    public static func make(_ name: String) -> String? {
        let template = (NSTemporaryDirectory() as NSString).appendingPathComponent("\(name).XXXXXX")
        var buffer = Array(template.utf8CString)
        guard let made = mkdtemp(&buffer) else { return nil }
        return String(cString: made)
    }

    /// Why the last `make` failed, from `errno`.
    public static var lastFailure: String { String(cString: strerror(errno)) }
}
