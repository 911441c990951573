import MigrationKit

/// An error with a documented exit code and a message for the operator.
protocol OperatorFacingError: Error {
    var exitCode: Int32 { get }
    var kindName: String { get }
    var operatorMessage: String { get }
}

/// MigrationKit's errors in vmdb's words: the fact the library states, then what
/// to type next (vmdb's commands and flags, which the library never names).
extension MigrationError: OperatorFacingError {
    var exitCode: Int32 {
        switch kind {
        case .usage: 64
        case .verificationFailed: 2
        case .databaseNewer: 4
        case .historyInconsistent: 5
        case .unusableInput: 65
        case .diskFull: 74
        case .busy: 75
        case .internalFailure: 1
        }
    }

    var kindName: String { kind.rawValue }

    var operatorMessage: String {
        let file = path ?? "PATH"
        switch code {
        case .noSuchDatabase:
            return message + " (vmdb never creates a database on its own; `vmdb init --db \(file)` makes a new one)"
        case .notADatabase:
            return message + ". Restore it from a backup (vmdb restore), or check the path"
        case .readOnlyFile:
            return message + ". Make it writable (chmod u+w), or work on a copy (vmdb migrate --dry-run)"
        case .readOnlyFolder:
            return message + ". Make the folder writable, or work on a copy"
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
        case .locked:
            return message + ". Retry when the deployer's write finishes, or raise --busy-timeout"
        case .migratorRunning:
            return message
        case .concurrentMigration:
            return message + ". Run `vmdb status`"
        case .outOfSpace:
            return message + ". Free space, put the backup elsewhere (--backup-dir), or pass --no-backup at your own risk"
        case .ioError:
            return message + ". Check the disk and the permissions, then retry"
        case .onlineNeedsWAL:
            return message + ". Switch it once with `sqlite3 \(file) 'PRAGMA journal_mode=WAL'` (the deployer's connections keep working, and it stays WAL), or migrate without --online. Nothing was changed"
        case .onlineNotPossible:
            return message + ". Migrate without --online (one transaction; see `vmdb migrate --dry-run` for how long it holds the lock). Nothing was changed"
        case .cutOverTimedOut:
            return message + ". Run `vmdb migrate --online` again when the deployer is less busy, or raise --max-lock-ms; `vmdb status` shows where it stands"
        case .unexpectedSQLiteError:
            return message + ". This is likely a bug: report it with the output of `vmdb status --db \(file)`"
        default:
            return message
        }
    }
}
