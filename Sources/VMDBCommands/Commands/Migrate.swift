import ArgumentParser
import Foundation
import MigrationKit

extension VMDB {
    struct Migrate: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Apply pending migrations, each in one verified transaction, after an online backup.",
            discussion: """
                Each migration commits whole or not at all: row counts, content hashes, integrity, \
                foreign keys, schema objects and the migration's invariants are checked before COMMIT. \
                With --dry-run the same runs on an online copy and the live file is not touched.

                With --online (WAL only) a migration that rebuilds tables copies them in short \
                transactions while capture triggers follow the deployer's writes, verifies every \
                row on a snapshot, and swaps in one cut-over transaction of at most --max-lock-ms, \
                retried; an interrupted run resumes with --online or is undone by a plain migrate. \
                The migration is applied at the cut-over, which is said as it happens; emptying the \
                old tables follows (--drain now), or is left to the next migrate run (--drain later), \
                and a failure there leaves the migration applied, exit 0 with a warning.

                One migrator at a time: migrate and restore lock the file <db>.vmdb-lock beside the \
                database (an advisory lock the kernel drops when the process ends, even killed). \
                It stays behind, empty, between runs; deleting it is safe while no vmdb runs.
                """)

        @OptionGroup var database: DatabaseOptions
        @OptionGroup var output: OutputOptions

        @Option(name: .customLong("to"), help: "Stop at this version (default: the latest).")
        var version: Int?

        @Option(help: ArgumentHelp("The network existing VMs belong to, for rows that have none (v1 databases, or v2 rows left NULL). Never guessed.", valueName: "name"))
        var defaultNetwork: String?

        @Option(help: ArgumentHelp("Where the backup goes (default: beside the database).", valueName: "dir"), completion: .directory)
        var backupDir: String?

        @Flag(help: "Do not take a backup first (you should have one).")
        var noBackup = false

        @Flag(help: "Run on an online copy and report; the live database is not touched.")
        var dryRun = false

        @Option(help: ArgumentHelp("With --dry-run: keep the migrated copy at this new path.", valueName: "path"), completion: .file())
        var keepCopy: String?

        @Option(help: "What to check before commit: full (counts, content hashes, integrity) or counts.")
        var verify: VerificationLevel = .full

        @Option(help: ArgumentHelp("Seconds to wait for the deployer's write lock before giving up, exit 75 (default: 5; on PostgreSQL 2, each statement's lock_timeout).", valueName: "seconds"))
        var busyTimeout: Double?

        @Flag(help: "Migrate while the deployer keeps writing: short write transactions only (needs WAL). See README, Upgrading.")
        var online = false

        @Option(help: ArgumentHelp("With --online: the longest the cut-over may hold the write lock before it is rolled back and retried.", valueName: "ms"))
        var maxLockMs: Double = 100

        @Option(help: ArgumentHelp("With --online: how long each copy chunk holds the write lock.", valueName: "ms"))
        var chunkMs: Double = 20

        @Option(help: ArgumentHelp("With --online: after each write transaction, leave the lock free this many times its length (pace the copy); after a hold over 100 ms, at least 100 ms, so a waiting deployer sees the lock free.", valueName: "ratio"))
        var pace: Double = 1

        @Option(help: ArgumentHelp("With --online: while this file exists, hold the cut-over (the new tables keep in sync).", valueName: "path"), completion: .file())
        var postponeCutOverFile: String?

        @Option(help: ArgumentHelp("With --online: empty the old tables after the cut-over in this run (now), or return at the cut-over and leave them to the next migrate run, in any mode (later; `vmdb status` shows them meanwhile).", valueName: "now|later"))
        var drain: OnlineSettings.Drain = .now

        @Option(help: ArgumentHelp("With --online: after the copy, how long the deployer's changes may outrun the migration (the pending count reaching no new low) before it stops with exit 75, resumable.", valueName: "seconds"))
        var maxLagSeconds: Double = 120

        func validate() throws {
            if backupDir != nil && noBackup { throw ValidationError("--backup-dir and --no-backup exclude each other") }
            if keepCopy != nil && !dryRun { throw ValidationError("--keep-copy goes with --dry-run") }
            if let defaultNetwork { try NetworkName.validate(defaultNetwork, option: "--default-network") }
            if let version, version < 1 { throw ValidationError("--to takes a version from 1") }
            if !online && (maxLockMs != 100 || chunkMs != 20 || pace != 1 || postponeCutOverFile != nil || maxLagSeconds != 120 || drain != .now) {
                throw ValidationError("--max-lock-ms, --chunk-ms, --pace, --max-lag-seconds, --drain and --postpone-cut-over-file go with --online")
            }
            if dryRun && drain == .later { throw ValidationError("--drain later does not go with --dry-run: the dry run measures the drain on its copy") }
            if let busyTimeout, !(busyTimeout > 0) { throw ValidationError("--busy-timeout takes seconds above 0") }
            guard maxLagSeconds > 0 else { throw ValidationError("--max-lag-seconds takes seconds above 0") }
            guard maxLockMs >= 1, chunkMs >= 1, chunkMs <= maxLockMs * 10, pace >= 0, pace <= 100 else {
                throw ValidationError("--max-lock-ms and --chunk-ms take milliseconds from 1, --pace a ratio from 0 to 100")
            }
        }

        func run() async throws {
            let path: String
            switch try database.location() {
            case .file(let file): path = file
            case .postgres(let location): return try await run(on: location)
            }
            var options = MigrationOptions()
            options.targetVersion = version
            options.parameters = defaultNetwork.map { ["default_network": $0] } ?? [:]
            options.verification = verify
            options.takesBackup = !noBackup
            options.backupDirectory = backupDir
            options.busyTimeout = busyTimeout ?? 5
            options.progress = output.progressHandler
            let console = Console.current
            options.warning = { console.err("vmdb: warning: \($0)\n") }
            if online {
                var settings = OnlineSettings()
                settings.maxLockMilliseconds = maxLockMs
                settings.chunkMilliseconds = chunkMs
                settings.pause = pace
                settings.postponeCutOverFile = postponeCutOverFile
                settings.maxLagSeconds = maxLagSeconds
                settings.drain = drain
                options.online = settings
            }
            if dryRun {
                let report = try VMDB.migrator.dryRun(path: path, options: options, keepCopy: keepCopy,
                                                      breakdowns: [DryRunRendering.vmsPerNetwork])
                try output.emit(report, text: { DryRunRendering.text(report) }, markdown: { DryRunRendering.markdown(report) })
                if let failure = report.failure {
                    throw ExitCode(failure.error?.exitCode ?? failure.kind.exitCode)
                }
                return
            }
            let report = try VMDB.migrator.migrate(path: path, options: options)
            // The migration stands (exit 0); what stopped the drain after its cut-over is a warning.
            for migration in report.migrations {
                guard let pending = migration.pendingDrain, let stopped = pending.interruption else { continue }
                console.err("vmdb: warning: migration \(migration.version) is applied (the deployer writes version \(migration.version) since its cut-over), but emptying its old tables stopped: \(stopped). \(Self.rows(pending)) remain in the old tables; `vmdb migrate --db \(path)` empties them first, with or without --online\n")
            }
            try output.emit(report) { Self.text(report) }
        }

        static func rows(_ pending: PendingDrain) -> String {
            pending.rowsLeft.map { "\($0) rows" } ?? "Rows"
        }

        static func text(_ report: MigrationRunReport) -> String {
            var lines: [String] = []
            if let baseline = report.baselinedVersion {
                lines.append("recorded the existing schema as version \(baseline) (baseline)")
            }
            if let backup = report.backup {
                lines.append("backup: \(backup.path) (\(backup.bytes) bytes, sha256 \(backup.sha256.prefix(16))…, \(String(format: "%.2f", backup.seconds)) s)")
            }
            if let earlier = report.finishedEarlierRun {
                switch earlier.work {
                case .drain:
                    lines.append(String(format: "finished the drain an earlier run left: migration %d's old tables emptied (%d rows) and dropped in %.2f s", earlier.version, earlier.rows, earlier.seconds))
                case .undo:
                    lines.append(String(format: "undid an earlier online run of migration %d that had not cut over: its new tables emptied (%d rows) and dropped in %.2f s", earlier.version, earlier.rows, earlier.seconds))
                }
            }
            if report.migrations.isEmpty {
                lines.append("\(report.path) is at version \(report.toVersion): nothing to do")
            }
            for migration in report.migrations {
                if let online = migration.verification.online {
                    lines.append(String(format: "migrated to %d (%@) online in %.2f s:", migration.version, migration.name, migration.seconds))
                    lines += online.reportLines
                    lines.append(String(format: "  version %d in place at the cut-over, %.2f s after the start: the deployer writes version %d since", migration.version, online.secondsToCutOver, migration.version))
                    if let pending = migration.pendingDrain {
                        let why = pending.interruption.map { "emptying them stopped (\($0))" } ?? "left by --drain later"
                        lines.append("  drain pending: \(rows(pending)) left in the old tables (\(why)). The migration stands; `vmdb migrate --db \(report.path)` empties them first, and `vmdb status` shows them")
                    }
                } else {
                    lines.append(String(format: "migrated to %d (%@) in %.2f s, write lock held %.2f s", migration.version, migration.name, migration.seconds, migration.lockSeconds))
                }
                for table in migration.verification.tables {
                    let hash = table.hashBefore == nil ? "" : (table.hashBefore == table.hashAfter ? ", content hash equal" : ", content hash CHANGED")
                    lines.append("  \(table.table): \(table.rowsBefore) → \(table.rowsAfter.map(String.init) ?? "-") rows\(hash)")
                }
                let v = migration.verification
                lines.append("  integrity \(v.integrity), foreign keys \(v.foreignKeyViolations.isEmpty ? "ok" : "violated"), invariants \(v.invariants.allSatisfy { $0.violations == 0 } ? "hold" : "broken")")
                lines += DryRunRendering.probeLines(v)
                if !v.restoredObjects.isEmpty { lines.append("  recreated after the rebuild: \(v.restoredObjects.joined(separator: ", "))") }
                if !v.carriedColumns.isEmpty { lines.append("  carried columns: \(v.carriedColumns.joined(separator: ", "))") }
            }
            if report.migrations.contains(where: { $0.verification.online != nil }) {
                let longest = report.migrations.map(\.longestLockMilliseconds).max() ?? 0
                lines.append(String(format: "done: version %d → %d in %.2f s (no write transaction longer than %.1f ms)", report.fromVersion, report.toVersion, report.seconds, longest))
            } else if !report.migrations.isEmpty {
                lines.append(String(format: "done: version %d → %d in %.2f s (write lock %.2f s in total)", report.fromVersion, report.toVersion, report.seconds, report.lockSeconds))
            }
            return lines.joined(separator: "\n") + "\n"
        }
    }
}

extension VerificationLevel: ExpressibleByArgument {}
extension OnlineSettings.Drain: ExpressibleByArgument {}
