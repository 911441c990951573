import Foundation
import GRDB
import SQLiteFiles

/// An error a migration run can meet, as data: a ``Code`` saying what happened,
/// the context it happened in (file, parameter, object, SQLite's own error),
/// and ``message``, the fact in plain words.
///
/// MigrationKit names no command, flag or tool: what an operator should type
/// next belongs to the caller (vmdb writes it, and chooses the exit code from
/// ``kind``, in its command layer). Match on ``code``; new codes may be added.
public struct MigrationError: Error, CustomStringConvertible, Sendable {
    /// The outcome class, which decides a command's exit code.
    public enum Kind: String, Sendable, Codable {
        /// Bad arguments, or a required value (such as a default network) missing.
        case usage
        /// Verification failed; the transaction was rolled back.
        case verificationFailed
        /// The database records a migration this tool does not ship.
        case databaseNewer
        /// An applied migration differs from the shipped file, or a version is missing.
        case historyInconsistent
        /// Missing file, not SQLite, corrupt, unknown schema.
        case unusableInput
        /// Not enough disk space, or an I/O error.
        case diskFull
        /// Another migrator holds the database, or it stayed locked.
        case busy
        /// The database server could not be reached, or the connection was lost.
        case serverUnavailable
        /// A bug: the message says what to report.
        case internalFailure
    }

    /// What happened, finer than ``Kind``: the one way to make a ``MigrationError``.
    ///
    /// Codes are made here only (a private initializer), so an error cannot carry a code
    /// the documentation does not list, nor a kind without its code.
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        public let name: String
        public let kind: Kind
        private init(_ name: String, _ kind: Kind) { self.name = name; self.kind = kind }
        public var description: String { name }

        /// No file at ``MigrationError/path`` (a database is never created on the way).
        public static let noSuchDatabase = Code("noSuchDatabase", .unusableInput)
        /// The file is empty, or not a SQLite database, or corrupt.
        public static let notADatabase = Code("notADatabase", .unusableInput)
        /// The file cannot be written (permissions, immutable, read-only mount).
        public static let readOnlyFile = Code("readOnlyFile", .unusableInput)
        /// The file's folder cannot be written, where SQLite keeps its journal.
        public static let readOnlyFolder = Code("readOnlyFolder", .unusableInput)
        /// A file the run would create already exists: nothing is overwritten.
        public static let fileExists = Code("fileExists", .usage)
        /// A file or folder the run would create could not be (its folder is missing or not writable).
        public static let cannotCreate = Code("cannotCreate", .unusableInput)
        /// A pending migration needs ``MigrationError/parameter``, and it was not given.
        public static let missingParameter = Code("missingParameter", .usage)
        /// A shipped migration file is malformed (its name, a directive, the catalog's numbering): a bug in the release.
        public static let malformedMigration = Code("malformedMigration", .internalFailure)
        /// The requested version is not one the catalog ships.
        public static let noSuchVersion = Code("noSuchVersion", .usage)
        /// The requested version is below the database's: migrations only go forward.
        public static let versionBehind = Code("versionBehind", .usage)
        /// vmdb cannot read a table's definition as SQLite does (``MigrationError/message`` names the table).
        public static let unreadableSchema = Code("unreadableSchema", .unusableInput)
        /// A change the operator made to the schema conflicts with a pending migration (a column
        /// redefined, a table constraint added, a name the migration needs already taken);
        /// ``MigrationError/object`` names the table or object. Nothing was changed.
        public static let schemaConflict = Code("schemaConflict", .unusableInput)
        /// Rows a recreation cannot carry over as they are (rows referring to missing parents, or a
        /// copy that would multiply rows); ``MigrationError/object`` names the table. Nothing was changed.
        public static let rowsNotCarried = Code("rowsNotCarried", .unusableInput)
        /// The schema matches no version the catalog knows, or lacks a table the migration works on.
        public static let unknownSchema = Code("unknownSchema", .unusableInput)
        /// A file the run reads besides the database (a backup, a fixture) is missing, unreadable or not
        /// what it should be; ``MigrationError/path`` names it.
        public static let unusableFile = Code("unusableFile", .unusableInput)
        /// The database has no tables at all.
        public static let emptySchema = Code("emptySchema", .unusableInput)
        /// The database records a migration this catalog does not ship, or a newer tool wrote its history.
        public static let newerDatabase = Code("newerDatabase", .databaseNewer)
        /// The history disagrees with the catalog, or cannot be read.
        public static let inconsistentHistory = Code("inconsistentHistory", .historyInconsistent)
        /// Another SQLite connection held the database past the busy timeout.
        public static let locked = Code("locked", .busy)
        /// Another migrator holds the lock file.
        public static let migratorRunning = Code("migratorRunning", .busy)
        /// The database changed version while this run waited for the write lock.
        public static let concurrentMigration = Code("concurrentMigration", .busy)
        /// The disk filled up, or the preflight found too little room.
        public static let outOfSpace = Code("outOfSpace", .diskFull)
        /// An I/O error from SQLite or the file system.
        public static let ioError = Code("ioError", .diskFull)
        /// No temporary folder could be made for a copy (``MigrationError/message`` says where and why).
        public static let noTemporaryFolder = Code("noTemporaryFolder", .diskFull)
        /// Verification failed before COMMIT; ``MigrationError/verification`` says why.
        public static let failedVerification = Code("failedVerification", .verificationFailed)
        /// The rows make a migration's own data steps break a rule of the operator's (a unique index, a
        /// CHECK, a trigger's RAISE) that only the data could show; ``MigrationError/object`` names it.
        /// Everything was rolled back.
        public static let dataConflict = Code("dataConflict", .verificationFailed)
        /// The migration or the schema is outside what the online path does correctly (``MigrationError/message`` says what).
        public static let onlineNotPossible = Code("onlineNotPossible", .unusableInput)
        /// The online path needs WAL, and the database is in another journal mode.
        public static let onlineNeedsWAL = Code("onlineNeedsWAL", .unusableInput)
        /// The online cut-over did not fit its time limit in the tries it had; the new tables stay in sync.
        public static let cutOverTimedOut = Code("cutOverTimedOut", .busy)
        /// After the online copy, the deployer's changes outran their application for longer than
        /// allowed; the new tables stay in sync and a later run resumes.
        public static let onlineLagging = Code("onlineLagging", .busy)
        /// During an online run, someone changed the schema of a table it migrates (a column,
        /// an index, a trigger); the run was undone, the change kept. ``MigrationError/object`` names it.
        public static let schemaChangedDuringOnline = Code("schemaChangedDuringOnline", .unusableInput)
        /// The database server's role lacks a right the command needs (PostgreSQL's SQLSTATE 42501).
        public static let permissionDenied = Code("permissionDenied", .unusableInput)
        /// The database server could not be reached, or it closed the connection mid-run.
        public static let serverUnreachable = Code("serverUnreachable", .serverUnavailable)
        /// A SQLite error nothing here expected: a bug.
        public static let unexpectedSQLiteError = Code("unexpectedSQLiteError", .internalFailure)
        /// Something the migrator relies on did not hold (a connection setting refused, its own state
        /// missing, an error of no known type): a bug.
        public static let unexpectedFailure = Code("unexpectedFailure", .internalFailure)

        /// Every code, for documentation and tests.
        public static let all: [Code] = [
            noSuchDatabase, notADatabase, readOnlyFile, readOnlyFolder, fileExists, cannotCreate, missingParameter,
            malformedMigration, noSuchVersion, versionBehind, unreadableSchema, schemaConflict, rowsNotCarried,
            unknownSchema, unusableFile, emptySchema, newerDatabase, inconsistentHistory, locked, migratorRunning,
            concurrentMigration, outOfSpace, ioError, noTemporaryFolder, failedVerification, dataConflict, onlineNotPossible,
            onlineNeedsWAL, cutOverTimedOut, onlineLagging, schemaChangedDuringOnline, permissionDenied, serverUnreachable, unexpectedSQLiteError, unexpectedFailure,
        ]
    }

    public let code: Code
    /// The fact, in plain words; callers add what to do next.
    public let message: String
    /// The database or file the error is about.
    public var path: String?
    /// The migration parameter the error is about (``Code/missingParameter``).
    public var parameter: String?
    /// The migration version the error is about.
    public var version: Int?
    /// The table, index, trigger or view the error is about.
    public var object: String?
    /// SQLite's error, when SQLite raised it.
    public var underlying: DatabaseError?
    /// The verification record of a failed migration, when there is one.
    public let verification: VerificationRecord?

    public var kind: Kind { code.kind }

    /// The only initializer: every error has its ``Code`` (which fixes its ``Kind``).
    public init(_ code: Code, _ message: String, path: String? = nil, parameter: String? = nil, version: Int? = nil,
                object: String? = nil, underlying: DatabaseError? = nil, verification: VerificationRecord? = nil) {
        self.code = code
        self.message = message
        self.path = path
        self.parameter = parameter
        self.version = version
        self.object = object
        self.underlying = underlying
        self.verification = verification
    }

    public var description: String { message }

    /// The same error with the file and migration it happened in, where it did not say them yet.
    package func inContext(path: String?, version: Int?) -> MigrationError {
        var error = self
        if error.path == nil { error.path = path }
        if error.version == nil { error.version = version }
        return error
    }

    /// The same error told of `new` where it says `old` (a dry run's copy is the operator's file).
    package func replacingPath(_ old: String, with new: String) -> MigrationError {
        MigrationError(code, message.replacingOccurrences(of: old, with: new), path: path.map { $0 == old ? new : $0 },
                       parameter: parameter, version: version, object: object, underlying: underlying, verification: verification)
    }
}

extension MigrationError {
    /// Translates an error met while working on `path` into a structured error:
    /// a SQLite or file error by its code, a ``MigrationError`` as it is.
    package static func wrapping(_ error: any Error, path: String, doing activity: String) -> MigrationError {
        if let error = error as? MigrationError { return error }
        guard let fileError = SQLiteFileError.translating(error, path: path, doing: activity) else {
            return MigrationError(.unexpectedFailure, "\(activity) failed on \(path): \(error)", path: path)
        }
        return MigrationError(fileError)
    }

    /// A file error in migration terms: the same code, file and SQLite error.
    package init(_ fileError: SQLiteFileError) {
        let code: Code = switch fileError.code {
        case .noSuchDatabase: .noSuchDatabase
        case .notADatabase: .notADatabase
        case .readOnlyFile: .readOnlyFile
        case .readOnlyFolder: .readOnlyFolder
        case .fileExists: .fileExists
        case .cannotCreate: .cannotCreate
        case .locked: .locked
        case .outOfSpace: .outOfSpace
        case .ioError: .ioError
        case .unexpectedSQLiteError: .unexpectedSQLiteError
        }
        self.init(code, fileError.message, path: fileError.path, underlying: fileError.underlying)
    }

    /// Runs `body` on `path`, turning what it throws into ``MigrationError``s as
    /// ``wrapping(_:path:doing:)`` does (file and SQLite errors by their code):
    /// what every public entry point throws is this type alone.
    package static func translatingFileErrors<T>(path: String, doing activity: String, _ body: () throws -> T) throws(MigrationError) -> T {
        do {
            return try body()
        } catch {
            throw wrapping(error, path: path, doing: activity)
        }
    }
}
