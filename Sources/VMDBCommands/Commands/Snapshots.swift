import ArgumentParser
import Foundation
import MigrationKit
import PostgresAccess
import VMSnapshots

extension VMDB {
    /// `vmdb snapshots verify|capture` (issue 6).
    struct Snapshots: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Migrate the fixture snapshots and compare them with their expected results; capture new ones.",
            discussion: """
                A snapshot is a folder holding a text SQL dump (dump.sql) and its expected result \
                (expected.json: row counts per table and per network, content hashes, the final schema, \
                and the --default-network the migration needs).
                """,
            subcommands: [VerifySnapshots.self, Capture.self])
    }
}

extension VMDB.Snapshots {
    struct VerifySnapshots: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "verify",
            abstract: "Migrate every snapshot to the latest version in a temporary database and compare it with its expected result.",
            discussion: """
                Each snapshot is loaded from its dump, migrated with full verification (counts, content hashes, \
                integrity, foreign keys, schema objects, invariants), compared with expected.json, and its schema \
                compared with a fresh install at the same version (operator additions are listed, not drift). \
                Exit 0 when all pass; 2 when any differs (each difference is listed); 65 when a snapshot or the \
                folder cannot be read.

                With --postgres URL each snapshot is also migrated on PostgreSQL: a database of its own on that \
                server (the URL's user creates and drops it), made at the snapshot's version by the PostgreSQL \
                migrations, the rows copied in, migrated to the latest, and every table's rows and content hash \
                compared with the SQLite result. A snapshot whose rows PostgreSQL cannot hold (a NUL in a text) is \
                named "not portable", not failed.
                """)

        @Argument(help: ArgumentHelp("The folder holding the snapshots (default: snapshots/ in the current directory).", valueName: "dir"), completion: .directory)
        var directory: String = "snapshots"

        @OptionGroup var output: OutputOptions

        @Option(help: ArgumentHelp("Also migrate every snapshot on this PostgreSQL server (a postgres:// URL whose user may create databases).", valueName: "url"))
        var postgres: String?

        func validate() throws {
            if let postgres { _ = try PostgresLocation(url: postgres) }
        }

        func run() async throws {
            let verifier = SnapshotVerifier(migrator: VMDB.migrator)
            let progress = output.progressHandler
            var results: [SnapshotVerification] = []
            for folder in try SnapshotVerifier.snapshotFolders(in: directory) {
                let phase = "snapshot \((folder as NSString).lastPathComponent)"
                let watch = Date()
                progress?(.started(phase: phase, total: nil))
                results.append(verifier.verify(folder: folder))
                progress?(.finished(phase: phase, seconds: Date().timeIntervalSince(watch)))
            }
            let report = SnapshotSuiteReport(directory: directory, snapshots: results)
            guard let postgres else {
                try output.emit(report) { Self.text(report) }
                if report.snapshots.contains(where: { $0.outcome == .unusable }) { throw ExitCode(65) }
                if !report.allPassed { throw ExitCode(2) }
                return
            }
            let onPostgres = PostgresSnapshotVerifier(sqlite: verifier, postgres: VMDB.postgresMigrator, serverURL: postgres)
            var postgresResults: [SnapshotVerification] = []
            for folder in try SnapshotVerifier.snapshotFolders(in: directory) {
                let phase = "snapshot \((folder as NSString).lastPathComponent) on PostgreSQL"
                let watch = Date()
                progress?(.started(phase: phase, total: nil))
                postgresResults.append(await onPostgres.verify(folder: folder))
                progress?(.finished(phase: phase, seconds: Date().timeIntervalSince(watch)))
            }
            let both = BothEngines(sqlite: report, postgres: SnapshotSuiteReport(directory: directory, snapshots: postgresResults))
            try output.emit(both) { Self.text(report) + "on PostgreSQL:\n" + Self.text(both.postgres) }
            if (report.snapshots + postgresResults).contains(where: { $0.outcome == .unusable }) { throw ExitCode(65) }
            if !report.allPassed || !both.postgres.allPassed { throw ExitCode(2) }
        }

        /// The SQLite report's fields as before, and the PostgreSQL one beside them (`postgres`).
        struct BothEngines: Encodable {
            let sqlite: SnapshotSuiteReport
            let postgres: SnapshotSuiteReport

            private enum CodingKeys: String, CodingKey { case postgres }

            func encode(to encoder: any Encoder) throws {
                try sqlite.encode(to: encoder)
                var container = encoder.container(keyedBy: CodingKeys.self)
                try container.encode(postgres, forKey: .postgres)
            }
        }

        static func text(_ report: SnapshotSuiteReport) -> String {
            var lines: [String] = []
            for snapshot in report.snapshots {
                let shape = snapshot.sourceVersion.map { "v\($0) \(snapshot.isManaged == true ? "managed" : "unmanaged")" } ?? "?"
                switch snapshot.outcome {
                case .passed:
                    var line = "\(snapshot.path): ok (\(shape) → v\(snapshot.finalVersion ?? 0), \(snapshot.rows ?? 0) rows; schema equals a fresh install"
                    line += snapshot.operatorAdditions.isEmpty ? ")" : ", plus operator additions kept: \(snapshot.operatorAdditions.joined(separator: ", ")))"
                    lines.append(line)
                case .notPortable:
                    lines.append("\(snapshot.path): not portable to PostgreSQL (\(shape)): \(snapshot.differences.joined(separator: "; "))")
                case .failed, .unusable:
                    lines.append("\(snapshot.path): \(snapshot.outcome == .failed ? "FAILED" : "UNUSABLE") (\(shape))")
                    for difference in snapshot.differences {
                        lines.append("  - " + difference.replacingOccurrences(of: "\n", with: "\n    "))
                    }
                }
            }
            let notPortable = report.snapshots.filter { $0.outcome == .notPortable }.count
            lines.append("\(report.passedCount) of \(report.snapshots.count) snapshots passed" + (notPortable > 0 ? " (\(notPortable) not portable)" : ""))
            return lines.joined(separator: "\n") + "\n"
        }
    }

    struct Capture: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Write a new snapshot (text dump and expected result) from a real database.",
            discussion: """
                The database is copied online (SQLite's backup API) and never modified. The copy is dumped as \
                text, loaded back and migrated to compute the expected result. --out names the new snapshot's \
                folder (it gets dump.sql and expected.json) or, ending in .sql, its dump file (expected.json goes \
                beside it). Files are created mode 0600 and never overwritten. With --anonymize, names, addresses, \
                keys and free text are replaced by stable fakes; ids, networks, statuses, timestamps, numbers, \
                NULLs, counts and the shape of lengths are kept.
                """)

        @OptionGroup var database: DatabaseOptions
        @OptionGroup var output: OutputOptions

        @Option(help: ArgumentHelp("The new snapshot's folder, or its dump file (…/NAME.sql).", valueName: "path"), completion: .file())
        var out: String

        @Flag(help: "Replace names, addresses, keys and free text with stable fakes.")
        var anonymize = false

        @Option(help: ArgumentHelp("The network of rows that have none, when the migration needs it (stored in the snapshot).", valueName: "name"))
        var defaultNetwork: String?

        @Option(help: ArgumentHelp("What this snapshot is (stored in expected.json).", valueName: "text"))
        var description: String?

        func validate() throws {
            if out.isEmpty { throw ValidationError("--out needs a path") }
            if let defaultNetwork { try NetworkName.validate(defaultNetwork, option: "--default-network") }
        }

        func run() throws {
            var options = SnapshotCapture.Options()
            options.anonymize = anonymize
            options.defaultNetwork = defaultNetwork
            options.description = description
            let report = try SnapshotCapture(migrator: VMDB.migrator).capture(database: try database.resolvedPath(), to: out, options: options)
            try output.emit(report) {
                var lines = ["captured a v\(report.sourceVersion) \(report.isManaged ? "managed" : "unmanaged") database (\(report.journalMode) journal)\(report.anonymized ? ", anonymized" : "")"]
                lines.append("dump: \(report.dumpPath) (\(report.dumpBytes) bytes)")
                lines.append("expected result: \(report.expectedPath) (migrates to v\(report.finalVersion))")
                lines += report.rowsPerTable.sorted { $0.key < $1.key }.map { "  \($0.key): \($0.value) rows" }
                if !report.operatorAdditions.isEmpty { lines.append("operator additions: \(report.operatorAdditions.joined(separator: ", "))") }
                return lines.joined(separator: "\n") + "\n"
            }
        }
    }
}
