import MigrationKit
import MigrationKitPostgres
import PostgresAccess
import Testing

/// The online directives as the catalog reads them, and the one statement form each takes,
/// refused by name before anything runs.
@Suite struct PostgresOnlineStepTests {
    static func migrator(_ text: String) throws -> PostgresMigrator {
        PostgresMigrator(catalog: try MigrationCatalog(files: [("0001_t.sql", "--! step\nCREATE TABLE t (id bigint PRIMARY KEY, a text);"), ("0002_online.sql", text)]),
                         toolVersion: "test", configuration: MigratorConfiguration(historyTable: "vmdb_migrations", bookkeepingPrefix: "vmdb_"))
    }

    @Test func theDirectivesAreStepsWithHowToRunThemOnline() throws {
        let script = try MigrationScript(fileName: "0002_online.sql", text: """
            --! step
            ALTER TABLE t ADD COLUMN b text;
            --! concurrently
            CREATE UNIQUE INDEX t_a ON t (a);
            --! not-valid
            ALTER TABLE t ADD CONSTRAINT t_b CHECK (b IS NOT NULL);
            --! backfill t BY id BATCH 250
            UPDATE t SET b = a WHERE id BETWEEN :batch_first::bigint AND :batch_last::bigint;
            """)
        let definition = script.definition
        #expect(definition.stepsBefore.count == 4, "offline, every block runs as written")
        #expect(definition.onlineDirectives == [1: .concurrently, 2: .notValid, 3: .backfill(table: "t", key: "id", batch: 250)])
    }

    @Test(arguments: [
        ("--! backfill t BATCH 10\nUPDATE t SET a = a;", "`backfill` needs `TABLE BY KEY BATCH N`"),
        ("--! backfill t BY id BATCH 0\nUPDATE t SET a = a;", "`backfill` needs `TABLE BY KEY BATCH N`"),
        ("--! concurrently now\nCREATE INDEX t_a ON t (a);", "`concurrently` takes no arguments"),
        ("--! recreate t\nCREATE TABLE t (id integer);\n--! not-valid\nALTER TABLE t ADD CONSTRAINT c CHECK (id > 0);", "alter tables in place"),
    ])
    func aMalformedDirectiveIsRefusedByName(text: String, says: String) {
        let error = #expect(throws: MigrationError.self) { _ = try MigrationScript(fileName: "0002_online.sql", text: text) }
        #expect(error?.code == .malformedMigration && error?.message.contains(says) == true, "\(String(describing: error))")
    }

    /// The statement a directive takes is checked before any step runs (no server is needed to refuse it).
    @Test(arguments: [
        ("--! concurrently\nCREATE INDEX t_a ON t (a); CREATE INDEX t_b ON t (a);", "one statement"),
        ("--! concurrently\nCREATE INDEX CONCURRENTLY t_a ON t (a);", "`concurrently` takes one `CREATE [UNIQUE] INDEX name ON"),
        ("--! not-valid\nALTER TABLE t ADD CONSTRAINT c CHECK (a <> '') NOT VALID;", "without NOT VALID"),
        ("--! not-valid\nALTER TABLE t ADD CONSTRAINT c UNIQUE (a);", "CHECK|FOREIGN KEY"),
        ("--! backfill t BY id BATCH 10\nUPDATE t SET a = lower(a);", "bounded by `id BETWEEN :batch_first AND :batch_last`"),
    ])
    func aDirectiveOverTheWrongStatementIsRefusedBeforeAnythingRuns(text: String, says: String) async throws {
        let migrator = try Self.migrator(text)
        // Nothing listens there: the refusal comes first, from the file alone.
        let location = try PostgresLocation(url: "postgres://vmdb@127.0.0.1:1/none")
        let error = await #expect(throws: MigrationError.self) { _ = try await migrator.migrateOnline(location) }
        #expect(error?.code == .malformedMigration && error?.message.contains(says) == true, "\(String(describing: error))")
    }
}
