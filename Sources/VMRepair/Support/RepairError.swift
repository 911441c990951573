import Foundation
import SQLiteFiles

/// An error `vmdb repair` can meet, with a message that names the thing (file,
/// daemon, network, vm id) and says what to do next. `kind` decides the exit code.
public struct RepairError: Error, CustomStringConvertible, Sendable {
    public enum Kind: String, Sendable, Codable {
        /// Options that do not fit together, or a value the operator must state.
        case usage
        /// An inventory file or a daemons config that cannot be used as it is.
        case malformedInput
        /// One network's inventory lists the same vm id more than once.
        case duplicateIDs
        /// A daemon could not be reached, timed out, or answered with an error or garbage.
        case daemonUnavailable
        /// The database file is missing, not SQLite, corrupt, or cannot be written.
        case unusableDatabase
        /// The database is not at the schema version repair works on.
        case databaseNotCurrent
        /// The database is at a newer schema version than this tool knows.
        case databaseNewer
        /// Another connection held the database past the busy timeout; retry later.
        case busy
        /// The disk filled up or failed; everything was rolled back.
        case diskFull
        /// A bug: the message says what to report.
        case internalFailure
    }

    public let kind: Kind
    public let message: String
    /// The file plumbing's error behind this one, when a file or SQLite failed:
    /// the command layer reads its code to say what to do next.
    package let file: SQLiteFileError?

    public init(_ kind: Kind, _ message: String) {
        self.init(kind, message, file: nil)
    }

    package init(_ kind: Kind, _ message: String, file: SQLiteFileError?) {
        self.kind = kind
        self.message = message
        self.file = file
    }

    public var description: String { message }
}
