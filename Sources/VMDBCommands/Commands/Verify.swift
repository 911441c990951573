import ArgumentParser
import MigrationKit
import MigrationKitPostgres

extension VMDB {
    struct Verify: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Check the schema against the migrations, integrity, foreign keys and history checksums.",
            discussion: "Exits 3 on schema drift, foreign key violations, or a trigger or view that fails when run (each is run once and rolled back), 65 when integrity_check fails, 4 or 5 for history problems.")

        @OptionGroup var database: DatabaseOptions
        @OptionGroup var output: OutputOptions

        func run() async throws {
            let report = switch try database.location() {
            case .file(let path): try VMDB.migrator.verify(path: path)
            case .postgres(let location): try await VMDB.postgresMigrator.verify(location)
            }
            try output.emit(report) { Self.text(report) }
            if report.integrity != "ok" { throw ExitCode(65) }
            if !report.isClean { throw ExitCode(3) }
        }

        static func text(_ report: VerifyReport) -> String {
            var lines = ["\(report.path): schema version \(report.version)"]
            lines.append(report.drift.isEmpty ? "schema: matches a fresh install at version \(report.version)" : "schema DRIFT:")
            lines += report.drift.map { "  \($0)" }
            if !report.additions.isEmpty {
                lines.append("operator additions (kept, not drift):")
                lines += report.additions.map { "  \($0)" }
            }
            lines.append("integrity: \(report.integrity)")
            lines.append("foreign keys: \(report.foreignKeyViolations.isEmpty ? "ok" : report.foreignKeyViolations.joined(separator: "; "))")
            lines += report.historyProblems.map { "history: \($0)" }
            if let notProbed = report.objectsNotProbed { lines.append("triggers and views: \(notProbed)") }
            if !report.brokenObjects.isEmpty {
                lines.append("BROKEN (fail when fired or read; rewrite or drop them):")
                lines += report.brokenObjects.map { "  \($0)" }
            }
            if !report.isManaged { lines.append("  `vmdb migrate --db \(report.path)` records it") }
            lines.append(report.isClean ? "verdict: ok" : "verdict: action needed")
            return lines.joined(separator: "\n") + "\n"
        }
    }
}
