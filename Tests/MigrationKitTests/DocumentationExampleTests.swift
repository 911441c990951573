import Foundation
import GRDB
import MigrationKit
import Testing
import VMDBTestSupport

/// The MigrationKit article's example runs as written: the code between the
/// markers below is the article's code block, line for line (the test checks).
@Suite struct DocumentationExampleTests {
    @Test func theArticleExampleRunsAndStaysTheArticles() throws {
        let directory = try TemporaryDirectory("article")
        let path = directory.file("notes.db")
        let backups = directory.path
        // BEGIN article example
        let catalog = try MigrationCatalog(files: [
            (name: "0001_notes.sql", text: """
                --! step
                CREATE TABLE notes (id INTEGER PRIMARY KEY, body TEXT NOT NULL);
                """),
            (name: "0002_note_tags.sql", text: """
                --! recreate notes
                CREATE TABLE notes (id INTEGER PRIMARY KEY, body TEXT NOT NULL, tag TEXT NOT NULL DEFAULT '');
                --! step
                CREATE INDEX notes_tag ON notes(tag);
                """),
        ])
        let migrator = Migrator(
            catalog: catalog, toolVersion: "notes 1.0",
            configuration: MigratorConfiguration(
                historyTable: "notes_migrations", bookkeepingPrefix: "notes_",
                lockFileSuffix: ".notes-lock", temporaryFolderPrefix: "notes-"))

        // An existing database at version 1, as an older release left it.
        try migrator.createDatabase(path: path, version: 1)

        // What would run, then the run itself (a backup goes beside the file by default).
        let plan = try migrator.plan(path: path)
        var options = MigrationOptions()
        options.backupDirectory = backups
        let report = try migrator.migrate(path: path, options: options)
        print("migrated \(report.fromVersion) → \(report.toVersion), write lock held \(report.lockSeconds) s")

        // Afterwards: nothing pending, and the schema equals a fresh install's.
        let status = try migrator.status(path: path)
        let verification = try migrator.verify(path: path)
        precondition(status.isCurrent && verification.isClean)
        // END article example

        #expect(plan.migrations.count == 1)
        #expect(report.fromVersion == 1 && report.toVersion == 2)
        #expect(status.currentVersion == 2)
        let queue = try DatabaseQueue(path: path)
        #expect(try queue.read { try $0.tableExists("notes_migrations") })
        #expect(try queue.read { try $0.tableExists("vmdb_migrations") } == false)
        #expect(try queue.read { try String.fetchAll($0, sql: "SELECT name FROM pragma_table_info('notes') ORDER BY cid") } == ["id", "body", "tag"])
        #expect(!FileManager.default.fileExists(atPath: path + ".vmdb-lock"))
        // Nothing the tool sees is named after vmdb: the plan's SQL (the temporary table, the
        // bound ranges, the probe savepoint) and every file left beside the database.
        let planSQL = plan.migrations.flatMap(\.statements).joined(separator: "\n")
        #expect(planSQL.contains("notes__notes_new"), "\(planSQL)")
        #expect(!planSQL.lowercased().contains("vmdb"), "\(planSQL)")
        #expect(try FileManager.default.contentsOfDirectory(atPath: directory.path).allSatisfy { !$0.contains("vmdb") })

        // The article shows this code, dedented, as its one Swift block.
        let source = try String(contentsOfFile: #filePath, encoding: .utf8)
        let begin = try #require(source.range(of: "// BEGIN article example\n"))
        let end = try #require(source.range(of: "        // END article example"))
        let tested = source[begin.upperBound..<end.lowerBound].split(separator: "\n", omittingEmptySubsequences: false)
            .map { $0.hasPrefix("        ") ? String($0.dropFirst(8)) : String($0) }.joined(separator: "\n")
        let articlePath = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("Sources/MigrationKit/MigrationKit.docc/MigrationKit.md").path
        let article = try String(contentsOfFile: articlePath, encoding: .utf8)
        let block = try #require(article.components(separatedBy: "```swift\n").dropFirst().first?.components(separatedBy: "```").first)
        #expect(block == tested, "the article's example and this test differ: keep them the same")
    }
}
