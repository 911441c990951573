import GRDBSQLite

/// The first bytes of a database file, read through a SQLite connection's own
/// file descriptor.
///
/// Why not `open(2)` and `read(2)`: closing *any* descriptor of a file drops every
/// POSIX lock this process holds on it, SQLite's included. In WAL mode each
/// connection keeps a shared lock on the database file for as long as it is open;
/// once that is gone, a connection of another process that closes takes the
/// exclusive lock, checkpoints past this process's readers and deletes the WAL
/// under them (they then read pages from the future: "database corruption").
/// SQLite's own descriptors are safe: it keeps a closed connection's descriptor
/// open while other connections of the process hold locks on the file.
package enum SQLiteFileHeader {
    /// Up to `count` bytes from the start of the file (fewer when it is shorter),
    /// or nil when SQLite cannot open it for reading.
    package static func read(_ path: String, count: Int) -> [UInt8]? {
        var connection: OpaquePointer?
        defer { sqlite3_close(connection) }
        guard sqlite3_open_v2(path, &connection, SQLITE_OPEN_READONLY, nil) == SQLITE_OK, let connection else { return nil }
        var pointer: UnsafeMutableRawPointer?
        guard sqlite3_file_control(connection, "main", SQLITE_FCNTL_FILE_POINTER, &pointer) == SQLITE_OK,
              let file = pointer?.assumingMemoryBound(to: sqlite3_file.self),
              let methods = file.pointee.pMethods,
              let fileSize = methods.pointee.xFileSize, let read = methods.pointee.xRead
        else { return nil }
        var size: sqlite3_int64 = 0
        guard fileSize(file, &size) == SQLITE_OK else { return nil }
        var bytes = [UInt8](repeating: 0, count: max(0, min(count, Int(size))))
        guard !bytes.isEmpty else { return bytes }
        let status = bytes.withUnsafeMutableBytes { read(file, $0.baseAddress, Int32($0.count), 0) }
        return status == SQLITE_OK ? bytes : nil
    }
}
