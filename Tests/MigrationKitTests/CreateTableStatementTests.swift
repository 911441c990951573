import Foundation
import GRDB
import Testing
import VMDBTestSupport

@testable import MigrationKit

/// The CREATE TABLE reader and its tokenizer, case by case: each case is one way the
/// hand-written reader before issue 12 misread a definition SQLite accepts.
@Suite struct CreateTableStatementTests {
    func reading(_ sql: String) throws -> CreateTableStatement { try CreateTableStatement(sql: sql) }

    // MARK: Tokens

    @Test(arguments: [
        // Every byte from 0x80 up is a name character; Character.isLetter said otherwise.
        ("kosten_€ INT", ["kosten_€", "INT"]),
        ("größe·gb", ["größe·gb"]),
        ("rack\u{A0}2", ["rack\u{A0}2"]),  // a no-break space is not white space to SQLite
        ("🚀launch", ["🚀launch"]),
        ("a\u{FEFF}b \u{FEFF}c", ["a\u{FEFF}b", "c"]),  // a byte order mark: inside a name, or white space
        // A combining mark after a closing quote: one Character to Swift, two tokens to SQLite.
        ("\"a\"\u{301} x", ["\"a\"", "\u{301}", "x"]),
        ("'it''s' \"we\"\"ird\" [a\"b] `x``y`", ["'it''s'", "\"we\"\"ird\"", "[a\"b]", "`x``y`"]),
        ("a/* ) , ' */b -- ) ,\nc", ["a", "b", "c"]),
        ("x'0A' 0x1F 1e10 .5 1_000", ["x'0A'", "0x1F", "1e10", ".5", "1_000"]),
        ("a<>b||c->>d", ["a", "<>", "b", "||", "c", "->>", "d"]),
        ("a\0b", ["a"]),  // SQLite stops reading at a NUL
        ("'open", ["'open"]),  // unclosed: illegal to the end
    ])
    func tokensAreCutAsSQLiteCutsThem(_ sql: String, _ expected: [String]) {
        #expect(SQLTokenizer.tokens(sql).map(\.text) == expected)
    }

    @Test func stringsNumbersAndNamesAreToldApart() {
        let kinds = SQLTokenizer.tokens("'s' \"n\" [n] x'00' 12 :p ? ! name").map(\.kind)
        #expect(kinds == [.string, .quoted, .quoted, .blob, .number, .variable, .variable, .illegal, .word])
    }

    // MARK: Columns

    @Test func namesSQLiteTakesUnquotedAreReadWhole() throws {
        let table = try reading("CREATE TABLE vms (id INTEGER PRIMARY KEY, kosten_€ INTEGER, größe·gb REAL, rack\u{A0}2 TEXT)")
        #expect(table.columnNames == ["id", "kosten_€", "größe·gb", "rack\u{A0}2"])
        #expect(table.columns.map(\.declaredType) == ["INTEGER", "INTEGER", "REAL", "TEXT"])
    }

    @Test func generatedColumnsAreFoundInEveryForm() throws {
        let table = try reading(
            """
            CREATE TABLE t (a INT, b AS (a + 1), c TEXT GENERATED ALWAYS AS (CAST(a AS TEXT)) STORED,
                            d generated always as (2) Virtual, e INT DEFAULT (1) CHECK (e > 0), f AS (3) stored NOT NULL)
            """)
        #expect(table.columns.map(\.generated) == [nil, .virtual, .stored, .virtual, nil, .stored])
        #expect(table.insertableColumns.map(\.name) == ["a", "e"])
        #expect(table.columns.map(\.declaredType) == ["INT", "", "TEXT", "", "INT", ""])
    }

    @Test func typesArePutAsSQLiteKeepsThem() throws {
        let table = try reading(
            """
            CREATE TABLE t (a text, b "int", c VARCHAR ( 3 ), d INT /* c */ EGER, e [x] y, f abcdefghijalways, g "a" "b", h GENERATED)
            """)
        #expect(table.columns.map(\.declaredType) == ["TEXT", "INT", "VARCHAR ( 3 )", "INT /* c */ EGER", "x] ", "abcdefghij", "a", "GENERATED"])
    }

    /// Found by FuzzCreateTable: a lone DEFERRABLE is a column constraint, not part of the type.
    @Test func aDeferrableClauseEndsTheType() throws {
        let table = try reading("CREATE TABLE t (a REFECT MATCH SIMPLE DEFERRABLE INITIALLY DEFERRED, b INT NOT DEFERRABLE)")
        #expect(table.columns.map(\.declaredType) == ["REFECT MATCH SIMPLE", "INT"])
    }

    @Test func primaryKeysAreNumberedInTheKeysOrder() throws {
        let table = try reading("CREATE TABLE t (a, \"b\", c, PRIMARY KEY (((b)) COLLATE nocase DESC, 'a')) WITHOUT ROWID")
        #expect(table.columns.map(\.primaryKeyPosition) == [2, 1, 0])
        #expect(table.isWithoutRowid && !table.isStrict)
        let desc = try reading("CREATE TABLE t (desc, asc INT, PRIMARY KEY (desc))")
        #expect(desc.columns.map(\.primaryKeyPosition) == [1, 0])
    }

    @Test(arguments: ["WITHOUT ROWID", "without\nrowid", "WITHOUT /* x */ ROWID", "STRICT, WITHOUT ROWID"])
    func withoutRowidIsFoundHoweverItIsSpaced(_ options: String) throws {
        #expect(try reading("CREATE TABLE t (a INT PRIMARY KEY) \(options)").isWithoutRowid)
    }

    @Test func withoutRowidInANameOrCommentIsNotAnOption() throws {
        let table = try reading("CREATE TABLE t (\"WITHOUT ROWID\" TEXT /* WITHOUT ROWID */, without rowid)")
        #expect(!table.isWithoutRowid)
        #expect(table.columnNames == ["WITHOUT ROWID", "without"])
    }

    @Test func tableConstraintsWithoutCommasEndTheColumns() throws {
        let table = try reading("CREATE TABLE IF NOT EXISTS main.\"t t\" (a, b, PRIMARY KEY (a) UNIQUE (b) CHECK (a > 0))")
        #expect(table.tableName == "t t")
        #expect(table.columnNames == ["a", "b"])
        #expect(table.tableConstraints == ["PRIMARY KEY (a)", "UNIQUE (b)", "CHECK (a > 0)"])
        let named = try reading(
            "CREATE TABLE t (a, b, CONSTRAINT pk PRIMARY KEY (a), constraint \"c c\" CHECK (b) FOREIGN KEY (b) REFERENCES p ON DELETE CASCADE)")
        #expect(named.tableConstraints == ["CONSTRAINT pk PRIMARY KEY (a)", "constraint \"c c\" CHECK (b)", "FOREIGN KEY (b) REFERENCES p ON DELETE CASCADE"])
    }

    // MARK: Renaming

    @Test func referencesToTheTableFollowItsNewName() throws {
        let table = try reading(
            """
            CREATE TABLE vms (id INTEGER PRIMARY KEY, quota INT CHECK (vms.quota >= 0 AND "VMS".quota < 10 AND main.vms.quota <> 1 \
            AND 'vms.quota' <> '' AND other.vms > 0), parent REFERENCES vms(id), CHECK ([vms].id > 0))
            """)
        #expect(
            table.sql(renamedTo: "vms__vmdb_new") == """
                CREATE TABLE "vms__vmdb_new" (id INTEGER PRIMARY KEY, quota INT CHECK ("vms__vmdb_new".quota >= 0 AND "vms__vmdb_new".quota < 10 \
                AND main."vms__vmdb_new".quota <> 1 AND 'vms.quota' <> '' AND other.vms > 0), parent REFERENCES vms(id), CHECK ("vms__vmdb_new".id > 0))
                """)
    }

    @Test func aCarriedCheckNamingItsTableIsValidOnTheTemporaryTable() throws {
        let queue = try DatabaseQueue()
        try queue.write { db in
            try db.execute(sql: "CREATE TABLE vms (id INTEGER PRIMARY KEY); ALTER TABLE vms ADD COLUMN quota INT CHECK (vms.quota >= 0)")
            let old = try CreateTableStatement.read(db, table: "vms")
            let new = try CreateTableStatement(sql: "CREATE TABLE vms (id INTEGER PRIMARY KEY)")
            try db.execute(sql: new.sql(renamedTo: "vms__vmdb_new", addingColumns: [old.columns[1].definition]))
            try db.execute(sql: "DROP TABLE vms; ALTER TABLE vms__vmdb_new RENAME TO vms")
            #expect(throws: DatabaseError.self) { try db.execute(sql: "INSERT INTO vms (quota) VALUES (-1)") }
        }
    }

    // MARK: Checked against SQLite

    @Test func aReadingSQLiteContradictsIsNamedColumnByColumn() throws {
        let queue = try DatabaseQueue()
        try queue.write { db in
            try db.execute(sql: "CREATE TABLE t (a INT PRIMARY KEY, b AS (a) STORED)")
            #expect(try reading("CREATE TABLE t (a INT PRIMARY KEY, b AS (a) STORED)").disagreements(db, table: "t").isEmpty)
            let wrong = try reading("CREATE TABLE t (a TEXT, b) WITHOUT ROWID").disagreements(db, table: "t")
            #expect(
                wrong == [
                    "column a has the type 'TEXT', SQLite's is 'INT'",
                    "column a is at 0 in the primary key, SQLite has 1",
                    "column b is not generated, SQLite's is generated stored",
                    "it reads WITHOUT ROWID, SQLite has a rowid",
                ])
            #expect(try reading("CREATE TABLE t (a, c)").disagreements(db, table: "t") == ["it finds the columns a, c where SQLite has a, b"])
        }
    }

    @Test func aTableTheReaderCannotReadIsRefusedByName() throws {
        let queue = try DatabaseQueue()
        try queue.write { db in
            try db.execute(sql: "CREATE VIRTUAL TABLE notes USING fts5(body)")
            let error = try #require(throws: MigrationError.self) { try CreateTableStatement.read(db, table: "notes") }
            #expect(error.code == .unreadableSchema && error.kind == .unusableInput)
            #expect(error.message.contains("table notes") && error.message.contains("Nothing was changed"), "\(error.message)")
        }
    }

    @Test func normalizedSQLFoldsQuotingAsSQLiteReadsNames() {
        func normalized(_ sql: String) -> String? { SchemaObject(type: "table", name: "t", table: "t", sql: sql).normalizedSQL }
        #expect(normalized("CREATE TABLE \"vms\" ([a b] INT, `c` TEXT) -- x") == normalized("create table vms (\"a b\" int, c text)"))
        #expect(normalized("CREATE TABLE t (Ä INT)") != normalized("CREATE TABLE t (ä INT)"))  // two names to SQLite
    }
}
