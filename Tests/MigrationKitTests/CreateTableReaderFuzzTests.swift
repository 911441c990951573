import Foundation
import GRDB
import Testing
import VMDBTestSupport

@testable import MigrationKit

/// The CREATE TABLE reader on input nobody would write: random bytes, and generated
/// statements cut, doubled and spliced with quotes, brackets, comment starts, NULs and
/// bytes from 0x80 up. It must never crash; where SQLite makes a table of the text, what
/// the reader claims must be what SQLite says, and where it cannot read the table it
/// must say so (a thrown `unreadableSchema`) rather than guess. The libFuzzer target
/// (fuzz/Sources/FuzzCreateTable) does the same without end; its corpus is replayed
/// by `FuzzCorpusTests`.
@Suite struct CreateTableReaderFuzzTests {
    static let count = Int(ProcessInfo.processInfo.environment["VMDB_READER_STATEMENTS"] ?? "") ?? 4000

    /// Pieces that change how SQLite cuts text into tokens.
    static let splices = [
        "'", "\"", "`", "[", "]", "(", ")", ",", ";", ".", "--", "/*", "*/", "\n", "\0", "x'", "0x", "1e", "$", ":", "?",
        "\u{FEFF}", "\u{A0}", "é", "€", "\u{301}", "\u{FFFD}", "\u{0B}", "AS", " AS (1)", " GENERATED ALWAYS AS (2) STORED",
        " PRIMARY KEY", " CONSTRAINT", " CHECK (", " DEFAULT ", " COLLATE ", " WITHOUT ROWID", " STRICT", ", PRIMARY KEY (",
        " always", " generated", "ALWAYS", "\"\"", "''", "[]", "/**/", " -- ", "t.", "main.",
    ]

    struct Outcome {
        var tried = 0
        var tables = 0
        var refused = 0
        var wrong: [String] = []
    }

    /// Runs `text` on SQLite; when it makes one ordinary table, checks the reader on it.
    static func check(_ text: String, on queue: DatabaseQueue, _ outcome: inout Outcome) throws {
        outcome.tried += 1
        // Never a crash, whatever the text.
        let direct = try? CreateTableStatement(sql: text)
        // Only CREATE statements reach SQLite: a COMMIT would end the savepoint, an ATTACH write a file.
        guard SQLTokenizer.tokens(text).first?.isKeyword("create") == true else { return }
        try queue.writeWithoutTransaction { db in
            try db.inSavepoint {
                do {
                    // One statement only (GRDB refuses a second), as sqlite_master holds them.
                    try db.makeStatement(sql: text).execute()
                } catch is DatabaseError {
                    return .rollback
                }
                guard let (table, stored) = try CreateTableReaderTests.createdTable(db), !stored.uppercased().hasPrefix("CREATE VIRTUAL") else {
                    return .rollback
                }
                outcome.tables += 1
                let facts = try CreateTableReaderTests.facts(db, table: table)
                do {
                    let reading = try CreateTableStatement(sql: stored)
                    if CreateTableReaderTests.claims(reading) != facts {
                        outcome.wrong.append("\(stored.debugDescription)\n  reader: \(CreateTableReaderTests.claims(reading))\n  SQLite: \(facts)")
                    }
                } catch let error as MigrationError where error.code == .unreadableSchema {
                    outcome.refused += 1
                    outcome.wrong.append("\(stored.debugDescription)\n  refused: \(error.message)")
                }
                // The text as given may hold what sqlite_master drops (TEMP, IF NOT EXISTS,
                // the schema); read at all, it must agree too.
                if let direct, direct.tableName == table, CreateTableReaderTests.claims(direct) != facts {
                    outcome.wrong.append("\(text.debugDescription)\n  reader: \(CreateTableReaderTests.claims(direct))\n  SQLite: \(facts)")
                }
                return .rollback
            }
        }
    }

    /// What the libFuzzer target kept (fuzz/corpus/create-table), replayed on every run.
    @Test func theFuzzCorpusIsReadAsSQLiteReadsIt() throws {
        let folder = (Fixtures.repositoryRoot as NSString).appendingPathComponent("fuzz/corpus/create-table")
        let files = try FileManager.default.contentsOfDirectory(atPath: folder).sorted()
        #expect(!files.isEmpty)
        let queue = try DatabaseQueue()
        var outcome = Outcome()
        for file in files {
            let data = try Data(contentsOf: URL(fileURLWithPath: (folder as NSString).appendingPathComponent(file)))
            try Self.check(String(decoding: data, as: UTF8.self), on: queue, &outcome)
        }
        #expect(outcome.tables > 0)
        #expect(outcome.wrong.isEmpty, "\(outcome.wrong.prefix(5).joined(separator: "\n\n"))")
    }

    @Test func randomBytesNeverCrashTheReader() throws {
        var random = SeededRandom(seed: CreateTableReaderTests.seed ^ 0xB17E5)
        let queue = try DatabaseQueue()
        var outcome = Outcome()
        for _ in 0..<Self.count / 2 {
            var bytes = (0..<Int.random(in: 0...120, using: &random)).map { _ in UInt8.random(in: 0...255, using: &random) }
            // Half of them behind a statement's start, to get past the first checks.
            if random.chance(0.5) { bytes = Array("CREATE TABLE t(".utf8) + bytes + (random.chance(0.5) ? Array(")".utf8) : []) }
            try Self.check(String(decoding: bytes, as: UTF8.self), on: queue, &outcome)
        }
        print("CreateTableReaderFuzzTests random bytes: \(outcome.tried) inputs, \(outcome.tables) tables SQLite made, \(outcome.wrong.count) misread")
        #expect(outcome.wrong.isEmpty, "\(outcome.wrong.prefix(5).joined(separator: "\n\n"))")
    }

    @Test func mutatedStatementsAreReadAsSQLiteReadsThemOrRefused() throws {
        var generator = CreateTableGenerator(seed: CreateTableReaderTests.seed ^ 0x5EED)
        var random = SeededRandom(seed: CreateTableReaderTests.seed ^ 0x3A7E)
        let queue = try DatabaseQueue()
        var outcome = Outcome()
        for _ in 0..<Self.count {
            var bytes = Array(generator.statement().sql.utf8)
            for _ in 0..<Int.random(in: 1...2, using: &random) {
                // Half the time between two tokens, where more of the results still parse.
                let spaces = bytes.indices.filter { bytes[$0] == UInt8(ascii: " ") }
                let at = random.chance(0.5) && !spaces.isEmpty ? random.pick(spaces) : Int.random(in: 0...bytes.count, using: &random)
                switch Int.random(in: 0..<4, using: &random) {
                case 0:  // cut a piece out
                    let end = min(bytes.count, at + Int.random(in: 1...8, using: &random))
                    bytes.removeSubrange(at..<end)
                case 1:  // double a piece
                    let end = min(bytes.count, at + Int.random(in: 1...12, using: &random))
                    bytes.insert(contentsOf: bytes[at..<end], at: at)
                case 2:  // one random byte
                    bytes.insert(UInt8.random(in: 0...255, using: &random), at: at)
                default:  // a piece that changes the tokens
                    bytes.insert(contentsOf: Array(random.pick(Self.splices).utf8), at: at)
                }
            }
            try Self.check(String(decoding: bytes, as: UTF8.self), on: queue, &outcome)
        }
        print(
            "CreateTableReaderFuzzTests mutations: \(outcome.tried) inputs, \(outcome.tables) tables SQLite made, \(outcome.refused) refused, \(outcome.wrong.count) misread or refused"
        )
        #expect(outcome.tables > Self.count / 10, "too few of the mutations make a table to mean anything")
        #expect(outcome.wrong.isEmpty, "\(outcome.wrong.count), first:\n\(outcome.wrong.prefix(5).joined(separator: "\n\n"))")
    }
}
