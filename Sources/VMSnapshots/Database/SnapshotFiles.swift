import Foundation
import GRDB
import MigrationKit
import SQLiteFiles

/// File handling shared by verify and capture: private files that are never
/// overwritten, temporary folders, and loading a dump into a new database.
enum SnapshotFiles {
    /// Writes `text` to a new file at `path`, mode 0600; refuses an existing file.
    static func writeNew(_ text: String, to path: String) throws {
        let fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o600)
        guard fd >= 0 else {
            if errno == EEXIST {
                throw MigrationError(.fileExists, "\(path) already exists: vmdb never overwrites a file. Choose another path or remove it", path: path)
            }
            throw MigrationError(.cannotCreate, "cannot create \(path) (\(String(cString: strerror(errno)))): check that the folder exists and is writable", path: path)
        }
        fchmod(fd, 0o600)
        let handle = FileHandle(fileDescriptor: fd, closeOnDealloc: true)
        do {
            try handle.write(contentsOf: Data(text.utf8))
            try handle.close()
        } catch {
            try? FileManager.default.removeItem(atPath: path)
            throw MigrationError(.ioError, "could not write \(path) (\(error)); the partial file was removed", path: path)
        }
    }

    /// Creates a folder (mode 0700) that must not exist yet, with its missing parents.
    static func createNewFolder(_ path: String) throws {
        guard !FileManager.default.fileExists(atPath: path) else {
            throw MigrationError(.fileExists, "\(path) already exists: vmdb never overwrites a snapshot. Choose another path or remove it", path: path)
        }
        do {
            try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true,
                                                    attributes: [.posixPermissions: 0o700])
        } catch {
            throw MigrationError(.cannotCreate, "cannot create the folder \(path) (\(error.localizedDescription)): check that its parent is writable", path: path)
        }
    }

    /// A new private folder under the system's temporary directory; the caller removes it.
    static func temporaryFolder(_ label: String) throws -> String {
        do {
            return try PrivateDirectory.make("vmdb-" + label)
        } catch {
            throw MigrationError(.noTemporaryFolder, "cannot create a temporary folder in \(error.parent) (\(error.reason)); set TMPDIR to a writable folder with room for a copy")
        }
    }

    /// Loads `dump` into a new database file at `path` (mode 0600), in `journalMode`.
    static func load(dump: String, to path: String, journalMode: String) throws {
        try DumpLoader.load(dump, intoNewFile: path, journalMode: journalMode.lowercased() == "wal" ? .wal : .delete)
    }
}
