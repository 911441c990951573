import ArgumentParser
import MigrationKit
import MigrationKitPostgres

extension VMDB {
    struct Status: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Show the schema version, applied, pending and unknown migrations.",
            discussion: "With --check, exits 3 when migrations are pending, 4 when the database is newer than this tool, 5 when its history is inconsistent.")

        @OptionGroup var database: DatabaseOptions
        @OptionGroup var output: OutputOptions

        @Flag(help: "Exit 3 when migrations are pending (for scripts and CI).")
        var check = false

        func run() async throws {
            let status = switch try database.location() {
            case .file(let path): try VMDB.migrator.status(path: path)
            case .postgres(let location): try await VMDB.postgresMigrator.status(location)
            }
            try output.emit(Report(status: status, build: .current)) { Self.text(status, build: .current) }
            if check {
                try status.requireConsistentHistory()
                if !status.pending.isEmpty { throw ExitCode(3) }
            }
        }

        /// The status's JSON with one field added, `vmdb`: the build `vmdb --version` names.
        struct Report: Encodable {
            let status: DatabaseStatus
            let build: BuildDescription

            private enum CodingKeys: String, CodingKey { case vmdb }

            /// Every field DatabaseStatus has, as before, and `vmdb` beside them in the same object.
            func encode(to encoder: any Encoder) throws {
                try status.encode(to: encoder)
                var container = encoder.container(keyedBy: CodingKeys.self)
                try container.encode(build, forKey: .vmdb)
            }
        }

        static func text(_ status: DatabaseStatus, build: BuildDescription) -> String {
            var lines = [build.line, status.engine == "postgresql" ? "database: \(status.path) (PostgreSQL)" : "database: \(status.path) (journal mode \(status.journalMode))"]
            lines.append("schema version: \(status.currentVersion) (latest this vmdb ships: \(status.latestVersion))")
            if !status.isManaged {
                lines.append("history: none yet. The schema was recognised as version \(status.currentVersion); `vmdb migrate` records it (baseline) before migrating")
            }
            if !status.applied.isEmpty {
                lines.append("applied:")
                for entry in status.applied {
                    var line = "  \(entry.version) \(entry.name)  \(entry.kind == .baseline ? "baselined" : "applied") \(entry.appliedAt)  checksum \(entry.checksum.prefix(12))"
                    if entry.kind == .applied { line += "  \(entry.durationMilliseconds) ms (write lock \(entry.lockMilliseconds) ms)" }
                    lines.append(line)
                    if let verification = entry.verification {
                        let tables = verification.tables.map { "\($0.table) \($0.rowsBefore)→\($0.rowsAfter.map(String.init) ?? "-")" }
                        lines.append("      verified (\(verification.level.rawValue)): \(tables.joined(separator: ", ")); integrity \(verification.integrity); foreign keys \(verification.foreignKeyViolations.isEmpty ? "ok" : "\(verification.foreignKeyViolations.count) violations")")
                    }
                }
            }
            if let online = status.online {
                switch online.phase {
                case "copy", "verify":
                    lines.append("online migration to \(online.version) in progress or interrupted (started \(online.startedAt)): the deployer uses the old tables; capture triggers keep the new ones in sync")
                case "drain":
                    let rows = online.tables.map(\.rowsLeft).reduce(0, +)
                    lines.append("online migration to \(online.version) applied at its cut-over; drain pending: \(rows) rows left in the old tables. `vmdb migrate --db \(status.path)` empties and drops them first (short transactions, with or without --online; the deployer keeps writing). `vmdb status` only reads")
                default:
                    lines.append("online migration to \(online.version) given up; its new tables are being removed (`vmdb migrate` finishes that)")
                }
                for table in online.tables {
                    lines.append("  \(table.table): " + (["copy", "verify"].contains(online.phase) ? (table.copied ? "copied" : "\(table.rowsLeft) rows left to copy") : "\(table.rowsLeft) rows left to empty"))
                }
                if ["copy", "verify"].contains(online.phase) {
                    lines.append("  \(online.pendingChanges) change(s) of the deployer not yet in the new tables; `vmdb migrate --online` resumes, `vmdb migrate` removes it and migrates offline")
                }
            }
            if status.pending.isEmpty {
                lines.append("pending: none")
            } else {
                lines.append("pending:")
                lines += status.pending.map { "  \($0.version) \($0.name)" }
            }
            if !status.unknownVersions.isEmpty {
                lines.append("unknown (newer than this vmdb): \(status.unknownVersions.map(String.init).joined(separator: ", "))")
            }
            if !status.checksumMismatches.isEmpty {
                lines.append("checksum mismatch with the shipped files: \(status.checksumMismatches.map(String.init).joined(separator: ", "))")
            }
            if !status.missingVersions.isEmpty {
                lines.append("missing from the history: \(status.missingVersions.map(String.init).joined(separator: ", "))")
            }
            return lines.joined(separator: "\n") + "\n"
        }
    }
}
