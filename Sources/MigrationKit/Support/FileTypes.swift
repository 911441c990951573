import SQLiteFiles

// The file plumbing's types that appear in MigrationKit's API, under MigrationKit's
// name, so that a library user imports MigrationKit alone.

/// Something a long operation reports while it works (see ``ProgressHandler``).
public typealias ProgressEvent = SQLiteFiles.ProgressEvent
/// Receives ``ProgressEvent``s; commands render them, the library never prints.
public typealias ProgressHandler = SQLiteFiles.ProgressHandler
/// A consistent copy of a database taken with SQLite's online backup API.
public typealias BackupRecord = SQLiteFiles.BackupRecord
