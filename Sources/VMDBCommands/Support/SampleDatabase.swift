import SQLiteFiles

/// The sample database `vmdb demo` runs on: the shipped snapshot
/// `snapshots/v2-collision` (embedded by scripts/embed-migrations).
enum SampleDatabase {
    /// Loads the sample into a new file at `path` (mode 0600, WAL mode).
    static func write(to path: String) throws {
        try DumpLoader.load(dump, intoNewFile: path, journalMode: .wal)
    }
}
