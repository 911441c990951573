import MigrationKit
import SQLiteFiles

/// An error with a documented exit code and a message for the operator.
protocol OperatorFacingError: Error {
    var exitCode: Int32 { get }
    var kindName: String { get }
    var operatorMessage: String { get }
}

/// MigrationKit's errors in vmdb's words: the fact the library states, then what
/// to type next (vmdb's commands and flags, which the library never names).
extension MigrationError: OperatorFacingError {
    var exitCode: Int32 { kind.exitCode }

    var kindName: String { kind.rawValue }

    var operatorMessage: String {
        let file = path ?? "PATH"
        if let fileCode = SQLiteFileError.Code(rawValue: code.name), let advice = FileAdvice.nextStep(for: fileCode, path: file) {
            return message + advice
        }
        switch code {
        case .missingParameter:
            let flag = "--" + (parameter ?? "parameter").replacingOccurrences(of: "_", with: "-")
            return message + ". Give it with \(flag), e.g. \(flag) main"
        case .noSuchVersion:
            return message
        case .versionBehind:
            return message + ". To go back, restore the backup taken before the migration (vmdb restore)"
        case .emptySchema:
            return message + "; `vmdb init --db NEW_PATH` creates a new database"
        case .newerDatabase:
            return message + ". Use the vmdb that migrated it, or a newer one"
        case .inconsistentHistory:
            return message + ". Compare `vmdb status` with the migrations/ folder of the release that migrated it, or restore a backup (vmdb restore)"
        case .migratorRunning:
            return message
        case .concurrentMigration:
            return message + ". Run `vmdb status`"
        case .onlineNeedsWAL:
            return message + ". Switch it once with `sqlite3 \(file) 'PRAGMA journal_mode=WAL'` (the deployer's connections keep working, and it stays WAL), or migrate without --online. Nothing was changed"
        case .onlineNotPossible:
            return message + ". Migrate without --online (one transaction; see `vmdb migrate --dry-run` for how long it holds the lock). Nothing was changed"
        case .cutOverTimedOut:
            return message + ". Run `vmdb migrate --online` again when the deployer is less busy, or raise --max-lock-ms; `vmdb status` shows where it stands"
        default:
            return message
        }
    }
}

extension MigrationError.Kind {
    /// The exit code CLI.md documents for this outcome class.
    var exitCode: Int32 {
        switch self {
        case .usage: 64
        case .verificationFailed: 2
        case .databaseNewer: 4
        case .historyInconsistent: 5
        case .unusableInput: 65
        case .diskFull: 74
        case .busy: 75
        case .serverUnavailable: 69
        case .internalFailure: 1
        }
    }
}
