import Foundation
import GRDB
import MigrationKit
import Testing
import VMDBCommands
import VMDBTestSupport

/// Deployer databases an operator changed by hand (issue 12): each one either
/// migrates with every row and object intact, or is refused before anything
/// changes, by plan, dry run and migrate alike, with the object named.
@Suite struct OperatorSchemaTests {
    struct Outcome { let code: Int32; let out: String; let err: String }

    func run(_ arguments: [String]) async -> Outcome {
        let console = Console.capture()
        let code = await VMDB.execute(arguments, console: console)
        return Outcome(code: code, out: console.standardOutput, err: console.standardError)
    }

    /// A v2 file with the eight qa VMs and `change` applied with foreign keys off.
    func v2(_ directory: TemporaryDirectory, managed: Bool = true, _ change: String) throws -> String {
        let path = managed ? try Fixtures.database(version: 2, in: directory) : try Fixtures.unmanagedDatabase(version: 2, in: directory)
        try Fixtures.insertV2(Fixtures.eightVMIds.map { (network: "qa", id: $0) }, into: path)
        try DatabaseQueue(path: path).writeWithoutTransaction { db in
            try db.execute(sql: "PRAGMA foreign_keys = OFF")   // as a deployer may have run
            try db.execute(sql: change)
        }
        return path
    }

    /// Rebuilds vms by hand as an operator would (12-step, foreign keys off), its
    /// CREATE TABLE (named vms_new) changed by `change`.
    func rebuildVMs(_ path: String, _ change: (String) throws -> String) throws {
        try DatabaseQueue(path: path).writeWithoutTransaction { db in
            let sql = try String.fetchOne(db, sql: "SELECT sql FROM sqlite_master WHERE name = 'vms'") ?? ""
            let columns = try String.fetchAll(db, sql: "SELECT name FROM pragma_table_info('vms')").joined(separator: ", ")
            let create = try change(sql.replacingOccurrences(of: "CREATE TABLE vms", with: "CREATE TABLE vms_new"))
            try db.execute(sql: """
                PRAGMA foreign_keys = OFF;
                \(create);
                INSERT INTO vms_new (\(columns)) SELECT \(columns) FROM vms;
                DROP TABLE vms;
                ALTER TABLE vms_new RENAME TO vms;
                CREATE INDEX vms_status ON vms(status);
                CREATE INDEX vms_network ON vms(network);
                """)
        }
    }

    /// A write the migrated schema must still refuse (a kept CHECK, UNIQUE or trigger).
    func expectRefusedWrite(_ sql: String, on path: String, sourceLocation: SourceLocation = #_sourceLocation) {
        #expect(throws: DatabaseError.self, sourceLocation: sourceLocation) {
            try DatabaseQueue(path: path).write { try $0.execute(sql: sql) }
        }
    }

    func count(_ path: String, _ sql: String) throws -> Int {
        try DatabaseQueue(path: path).read { try Int.fetchOne($0, sql: sql) ?? -1 }
    }

    /// A v1 file with the eight VMs and `change` applied with foreign keys off.
    func v1(_ directory: TemporaryDirectory, _ change: String) throws -> String {
        let path = try Fixtures.database(version: 1, in: directory)
        try Fixtures.insertV1(Fixtures.eightVMIds, into: path)
        try DatabaseQueue(path: path).writeWithoutTransaction { db in
            try db.execute(sql: "PRAGMA foreign_keys = OFF")
            try db.execute(sql: change)
        }
        return path
    }

    /// Plan, dry run and migrate all succeed, and verify is clean afterwards.
    func expectMigrates(_ path: String, _ extra: [String] = [], sourceLocation: SourceLocation = #_sourceLocation) async {
        for arguments in [["plan"], ["migrate", "--dry-run"], ["migrate", "--no-backup"], ["verify"]] {
            let result = await run(arguments + ["--db", path] + (arguments[0] == "migrate" ? extra : []))
            #expect(result.code == 0, "\(arguments): \(result.err)\(result.out.suffix(600))", sourceLocation: sourceLocation)
        }
    }

    /// Plan, dry run and migrate all refuse with `code`, saying `words`, and leave the file as it was.
    func expectRefused(_ path: String, code: Int32 = 65, saying words: [String], sourceLocation: SourceLocation = #_sourceLocation) async throws {
        let before = try Fixtures.fileHash(path)
        for arguments in [["plan"], ["migrate", "--dry-run"], ["migrate"]] {
            let result = await run(arguments + ["--db", path])
            #expect(result.code == code, "\(arguments): \(result.err)\(result.out.suffix(400))", sourceLocation: sourceLocation)
            for word in words {
                #expect((result.err + result.out).contains(word), "\(arguments) does not say \(word): \(result.err)\(result.out.suffix(400))", sourceLocation: sourceLocation)
            }
        }
        #expect(try Fixtures.fileHash(path) == before, sourceLocation: sourceLocation)
    }

    func strings(_ path: String, _ sql: String) throws -> [String] {
        try DatabaseQueue(path: path).read { try String.fetchAll($0, sql: sql) }
    }

    // MARK: Class 1: column definitions SQLite accepts

    /// Names SQLite takes unquoted (every byte from 0x80 up is an identifier character in
    /// its tokenizer), which a letters-only reader cut short or split: a currency sign, a
    /// middle dot, a no-break space, an emoji, a BOM inside the name.
    static let unquotedNames = ["kosten_€", "größe·gb", "rack\u{A0}2", "🚀launch", "名前", "a\u{FEFF}b"]

    @Test(arguments: unquotedNames)
    func aV2ColumnWithANonASCIIUnquotedNameIsCarriedOver(_ name: String) async throws {
        let directory = try TemporaryDirectory()
        let path = try v2(directory, "ALTER TABLE vms ADD COLUMN \(name) INTEGER; UPDATE vms SET \(name.quotedForTest) = cpu * 10")
        await expectMigrates(path)
        #expect(try strings(path, "SELECT name FROM pragma_table_xinfo('vms')").contains(name))
        #expect(try count(path, "SELECT sum(\(name.quotedForTest)) FROM vms") == 280)
        #expect(try count(path, "SELECT count(*) FROM vms") == 8)
    }

    @Test func aV1ColumnWithANonASCIIUnquotedNameIsCarriedOver() async throws {
        let directory = try TemporaryDirectory()
        let path = try v1(directory, "ALTER TABLE vms ADD COLUMN kosten_€ INTEGER; UPDATE vms SET kosten_€ = cpu * 10")
        await expectMigrates(path, ["--default-network", "qa"])
        #expect(try count(path, "SELECT sum(\"kosten_€\") FROM vms") == 160)
        #expect(try count(path, "SELECT count(*) FROM vm_events") == 16)
    }

    /// `CHECK (vms.quota >= 0)` is valid on `vms`, and fails ("no such column: vms.quota")
    /// on the table the recreation builds under a temporary name, unless it is requalified.
    @Test(arguments: ["vms.quota", "\"VMS\".quota", "main.vms.quota", "[vms].\"quota\""])
    func aCheckNamingItsTableSurvivesTheRebuild(_ reference: String) async throws {
        let directory = try TemporaryDirectory()
        let path = try v2(directory, """
            ALTER TABLE vms ADD COLUMN quota INTEGER NOT NULL DEFAULT 0 CHECK (\(reference) >= 0 AND 'vms.quota' <> '');
            UPDATE vms SET quota = id * 3;
            """)
        await expectMigrates(path)
        #expect(try count(path, "SELECT sum(quota) FROM vms") == 108)
        expectRefusedWrite("UPDATE vms SET quota = -1 WHERE vm_id = '005o'", on: path)
        #expect(try strings(path, "SELECT sql FROM sqlite_master WHERE name = 'vms'").first?.contains("__vmdb_new") == false)
    }

    @Test func aV1CheckNamingItsTableSurvivesTheRebuild() async throws {
        let directory = try TemporaryDirectory()
        let path = try v1(directory, "ALTER TABLE vms ADD COLUMN quota INTEGER CHECK (vms.quota IS NULL OR vms.quota >= 0)")
        await expectMigrates(path, ["--default-network", "qa"])
        expectRefusedWrite("UPDATE vms SET quota = -1", on: path)
    }

    /// A generated column is computed, never inserted into: the copy that listed it failed
    /// with "cannot INSERT into generated column".
    @Test(arguments: [true, false])
    func aVirtualGeneratedColumnOnVMsIsRecomputed(managed: Bool) async throws {
        let directory = try TemporaryDirectory()
        let path = try v2(directory, managed: managed, "ALTER TABLE vms ADD COLUMN label TEXT GENERATED ALWAYS AS (network || '/' || vm_id) VIRTUAL")
        await expectMigrates(path)
        #expect(try strings(path, "SELECT label FROM vms ORDER BY id") == Fixtures.eightVMIds.map { "qa/\($0)" })
        #expect(try count(path, "SELECT hidden FROM pragma_table_xinfo('vms') WHERE name = 'label'") == 2)
    }

    @Test func aStoredGeneratedColumnOnAHandBuiltVMsIsRecomputed() async throws {
        let directory = try TemporaryDirectory()
        let path = try v2(directory, managed: false, "SELECT 1")
        // The operator rebuilt vms by hand to add a STORED column (ADD COLUMN takes only VIRTUAL ones).
        try rebuildVMs(path) { create in String(create.dropLast()) + ",\n    size_class TEXT AS (CASE WHEN cpu > 3 THEN 'large' ELSE 'small' END) STORED\n)" }
        await expectMigrates(path)
        #expect(try count(path, "SELECT count(*) FROM vms WHERE size_class = 'large'") == 4)
        #expect(try count(path, "SELECT hidden FROM pragma_table_xinfo('vms') WHERE name = 'size_class'") == 3)
    }

    /// A table constraint is not a column: the rebuild takes the migration's, and an
    /// operator's own (a hand-built vms with a table-level CHECK) was dropped silently.
    @Test func aTableConstraintOfTheOperatorsIsRefusedNotDropped() async throws {
        let directory = try TemporaryDirectory()
        let path = try v2(directory, managed: false, "SELECT 1")
        try rebuildVMs(path) { create in String(create.dropLast()) + ",\n    CONSTRAINT sane_cpu CHECK (vms_new.cpu IS NULL OR cpu >= 0)\n)" }
        try await expectRefused(path, saying: ["table vms has a table constraint", "CONSTRAINT sane_cpu CHECK", "would be lost"])
    }

    /// A column the migration redefines takes the migration's definition, so a
    /// constraint the operator gave it (here a CHECK on name, in a hand-built vms)
    /// was replaced without a word.
    @Test func aConstraintTheOperatorGaveAMigrationsColumnIsRefusedNotReplaced() async throws {
        let directory = try TemporaryDirectory()
        let path = try v2(directory, managed: false, "SELECT 1")
        try rebuildVMs(path) { create in
            let nameStart = try #require(create.range(of: "name "))
            let lineEnd = try #require(create.range(of: ",", range: nameStart.upperBound..<create.endIndex))
            return create.replacingCharacters(in: lineEnd, with: " CHECK (length(name) > 0),")
        }
        try await expectRefused(path, saying: ["table vms defines its column name as", "CHECK (length(name) > 0)", "would be lost"])
    }

    @Test func aV1GeneratedColumnIsRecomputed() async throws {
        let directory = try TemporaryDirectory()
        let path = try v1(directory, "ALTER TABLE vms ADD COLUMN memory_gb INTEGER AS (memory_mb / 1024)")
        await expectMigrates(path, ["--default-network", "qa"])
        #expect(try count(path, "SELECT sum(memory_gb) FROM vms") == 32)
    }

    /// SQLite's default build takes `"none"` as a string where no column has that name
    /// (the double-quoted string misfeature), so a deployer's CHECK may hold one; vmdb's
    /// connections (GRDB) refuse them in new DDL, which made the rebuild fail.
    @Test func aCheckWithADoubleQuotedStringSurvivesTheRebuild() async throws {
        let directory = try TemporaryDirectory()
        let path = try v2(directory, "SELECT 1")
        var configuration = Configuration()
        configuration.acceptsDoubleQuotedStringLiterals = true   // as SQLite's own default build, Python's sqlite3 included
        try await DatabaseQueue(path: path, configuration: configuration).write { db in
            try db.execute(sql: "ALTER TABLE vms ADD COLUMN tier TEXT CHECK (tier <> \"none\")")
        }
        await expectMigrates(path)
        expectRefusedWrite("UPDATE vms SET tier = 'none'", on: path)
    }

    // MARK: Class 2: unique indexes an operator added

    @Test(arguments: [true, false])
    func aUniqueIndexOnAnotherColumnIsKept(managed: Bool) async throws {
        let directory = try TemporaryDirectory()
        let path = try v2(directory, managed: managed, "CREATE UNIQUE INDEX vms_name_unique ON vms(name)")
        await expectMigrates(path)
        #expect(try count(path, "SELECT count(*) FROM sqlite_master WHERE name = 'vms_name_unique'") == 1)
        // Still enforced: a second VM may not take a name that is in use.
        expectRefusedWrite("UPDATE vms SET name = (SELECT min(name) FROM vms) WHERE name = (SELECT max(name) FROM vms)", on: path)
        #expect(try count(path, "SELECT count(*) FROM vms") == 8)
    }

    @Test(arguments: [true, false])
    func aUniqueIndexOnAnExpressionIsKept(managed: Bool) async throws {
        let directory = try TemporaryDirectory()
        let path = try v2(directory, managed: managed, "CREATE UNIQUE INDEX vms_lower_name ON vms(lower(name), status)")
        #expect(await run(["status", "--db", path]).code == 0)
        await expectMigrates(path)
        #expect(try count(path, "SELECT count(*) FROM sqlite_master WHERE name = 'vms_lower_name'") == 1)
    }

    // MARK: Class 3: plan and dry run agree with migrate

    @Test func aFullTextTableMigratesThroughPlanDryRunAndMigrate() async throws {
        let directory = try TemporaryDirectory()
        let path = try v2(directory, """
            CREATE VIRTUAL TABLE vm_notes USING fts5(body);
            INSERT INTO vm_notes (body) VALUES ('rebooted after the kernel update');
            """)
        await expectMigrates(path)
        #expect(try count(path, "SELECT count(*) FROM vm_notes WHERE vm_notes MATCH 'kernel'") == 1)
    }

    // MARK: Class 4: names the migration introduces

    @Test func anOperatorsTableNamedLikeTheMigrationsIsRefusedByName() async throws {
        let directory = try TemporaryDirectory()
        let path = try v2(directory, "CREATE TABLE vm_repairs (note TEXT); INSERT INTO vm_repairs VALUES ('mine')")
        try await expectRefused(path, saying: ["creates table vm_repairs", "already has a table", "RENAME TO"])
    }

    @Test func anOperatorsIndexNamedLikeTheMigrationsIsNeverReplaced() async throws {
        let directory = try TemporaryDirectory()
        let path = try v2(directory, "CREATE INDEX vms_identity ON vms(name)")
        try await expectRefused(path, saying: ["creates index vms_identity", "already has a index of that name (on vms)"])
    }

    @Test func aDryRunThatFindsAProblemPrintsTheWholeReport() async throws {
        let directory = try TemporaryDirectory()
        let path = try v2(directory, "CREATE TABLE vm_repairs (note TEXT)")
        let result = await run(["migrate", "--dry-run", "--format", "markdown", "--db", path])
        #expect(result.code == 65)
        #expect(result.out.contains("WOULD FAIL") && result.out.contains("vm_repairs"), "\(result.out)")
    }

    // MARK: Class 5: the migration's data steps fire no trigger

    @Test func anAuditTriggerOnVMsDoesNotFireDuringTheMigration() async throws {
        let directory = try TemporaryDirectory()
        let path = try Fixtures.database(version: 1, in: directory)
        try Fixtures.insertV1(Fixtures.eightVMIds, into: path)
        try await DatabaseQueue(path: path).write { db in
            try db.execute(sql: """
                CREATE TABLE vm_audit (vm_id TEXT, at TEXT);
                CREATE TRIGGER vms_audit AFTER UPDATE ON vms BEGIN INSERT INTO vm_audit VALUES (NEW.vm_id, 'now'); END;
                CREATE TRIGGER vms_frozen BEFORE UPDATE OF name ON vms WHEN NEW.name = 'forbidden' BEGIN SELECT RAISE(ABORT, 'frozen'); END;
                CREATE TRIGGER vms_no_network_change BEFORE UPDATE ON vms BEGIN SELECT RAISE(ABORT, 'no updates during the freeze'); END;
                """)
        }
        let result = await run(["migrate", "--db", path, "--default-network", "qa", "--no-backup"])
        #expect(result.code == 0, "\(result.err)")
        #expect(try count(path, "SELECT count(*) FROM vm_audit") == 0)
        // Still there, and still firing for the deployer.
        #expect(try count(path, "SELECT count(*) FROM sqlite_master WHERE type = 'trigger' AND name IN ('vms_audit', 'vms_frozen', 'vms_no_network_change')") == 3)
        expectRefusedWrite("UPDATE vms SET status = 'stopped' WHERE vm_id = '005o'", on: path)
    }

    // MARK: Class 6: damage that was already there

    @Test func eventsWhoseVMIsGoneAreNamedBeforeAnythingStarts() async throws {
        let directory = try TemporaryDirectory()
        let path = try v2(directory, "DELETE FROM vms WHERE vm_id IN ('005o', '0069')")
        try await expectRefused(path, saying: ["table vm_events has 2 row(s)", "foreign keys off"])
    }

    @Test func anOperatorsWithoutRowidChildWithOrphansIsNamed() async throws {
        let directory = try TemporaryDirectory()
        let path = try v2(directory, """
            CREATE TABLE vm_tags (vm INTEGER NOT NULL REFERENCES vms(id), tag TEXT NOT NULL, PRIMARY KEY (vm, tag)) WITHOUT ROWID;
            INSERT INTO vm_tags SELECT id, 'web' FROM vms;
            INSERT INTO vm_tags VALUES (9999, 'lost');
            """)
        try await expectRefused(path, saying: ["1 row(s) already refer to rows that do not exist", "vm_tags row (9999, 'lost')"])
        // The library's error names the table as data, not only in its sentence.
        var options = MigrationOptions()
        options.parameters = ["default_network": "main"]
        let error = #expect(throws: MigrationError.self) { try Fixtures.migrator.migrate(path: path, options: options) }
        #expect(error?.code == .rowsNotCarried && error?.object == "vm_tags")
    }

    // MARK: Class 10: messages

    @Test func aSelfReferenceOnTheOldKeyNamesItsColumn() async throws {
        let directory = try TemporaryDirectory()
        let path = try v2(directory, "ALTER TABLE vms ADD COLUMN cloned_from TEXT REFERENCES vms(vm_id)")
        let before = try Fixtures.fileHash(path)
        let result = await run(["migrate", "--db", path, "--no-backup"])
        #expect(result.code == 2, "\(result.err)")
        #expect(result.err.contains("\"vms\"(cloned_from) referencing \"vms\"(vm_id)"), "\(result.err)")
        #expect(try Fixtures.fileHash(path) == before)
    }
}

extension String {
    /// This name as a double-quoted SQL identifier, for the tests' own queries.
    fileprivate var quotedForTest: String { "\"" + replacingOccurrences(of: "\"", with: "\"\"") + "\"" }
}
