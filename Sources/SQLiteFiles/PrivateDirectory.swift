import Foundation

/// A new folder only this user can enter (mode 0700, made by `mkdtemp`, so its
/// name cannot be guessed or taken over), under the system's temporary directory.
package enum PrivateDirectory {
    /// Why a folder could not be made: where, and `errno`'s reason, read at once.
    package struct Failure: Error, Sendable {
        /// The temporary directory the folder was to go in.
        package let parent: String
        /// `strerror(errno)` of the failed `mkdtemp`.
        package let reason: String
    }

    /// Creates `<name>.XXXXXX` in `NSTemporaryDirectory()`; the caller removes it.
    ///
    /// - Throws: ``Failure`` when the folder cannot be made (TMPDIR missing,
    ///   read-only or full).
    package static func make(_ name: String) throws(Failure) -> String {
        let parent = NSTemporaryDirectory()
        var buffer = Array((parent as NSString).appendingPathComponent("\(name).XXXXXX").utf8CString)
        guard let made = mkdtemp(&buffer) else {
            // errno now, before any other call can overwrite it.
            throw Failure(parent: parent, reason: String(cString: strerror(errno)))
        }
        return String(cString: made)
    }
}
