import Foundation
import SQLiteFiles

/// One migrator at a time: an OS advisory lock (`flock`) on a file beside the
/// database. The kernel releases it when the process dies, so a crash cannot
/// leave it behind; the file only says who held it last.
package final class MigratorLock {
    package let path: String
    private let descriptor: Int32

    /// Takes the lock for `databasePath` (the file `databasePath + suffix`) or
    /// throws `.migratorRunning` naming the holder.
    package init(databasePath: String, suffix: String, purpose: String) throws {
        path = databasePath + suffix
        let fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o600)
        guard fd >= 0 else {
            throw MigrationError(.cannotCreate, "cannot create the lock file \(path) (\(String(cString: strerror(errno)))): nothing was changed. Check that the database's folder is writable", path: path)
        }
        guard flock(fd, LOCK_EX | LOCK_NB) == 0 else {
            let holder = (try? String(contentsOfFile: path, encoding: .utf8))?.trimmingWhitespace ?? "unknown"
            close(fd)
            throw MigrationError(.migratorRunning, "another migrator holds \(databasePath) (\(holder.isEmpty ? "holder unknown" : holder)); nothing was changed. Wait for it to finish, then retry", path: databasePath)
        }
        descriptor = fd
        let note = "pid \(getpid()) (\(purpose)) since \(UTCTimestamp.now())\n"
        _ = ftruncate(fd, 0)
        _ = note.withCString { pwrite(fd, $0, strlen($0), 0) }
    }

    deinit {
        _ = ftruncate(descriptor, 0)
        flock(descriptor, LOCK_UN)
        close(descriptor)
    }
}
