import Foundation
import GRDB
import SQLiteFiles
import MigrationKit
import Testing
import VMDBTestSupport
@testable import VMSnapshots

/// Capture, then verify, round-trips on every shipped snapshot; anonymized
/// captures keep the shape and lose the users' data.
@Suite struct CaptureTests {
    private func capture(_ name: String, anonymize: Bool, in directory: TemporaryDirectory, key: [UInt8]? = nil,
                         out: String = "captured") throws -> (source: String, expectation: SnapshotExpectation, report: SnapshotCapture.Report) {
        let (source, expectation) = try SnapshotTestSupport.load(name, in: directory)
        var options = SnapshotCapture.Options()
        options.anonymize = anonymize
        options.defaultNetwork = expectation.metadata.defaultNetwork
        options.anonymizationKey = key
        let report = try SnapshotCapture(migrator: Fixtures.migrator).capture(database: source, to: directory.file(out), options: options)
        return (source, expectation, report)
    }

    @Test(arguments: ShippedSnapshots.names)
    func captureThenVerifyRoundTrips(_ name: String) throws {
        let directory = try TemporaryDirectory("capture")
        let (source, expectation, report) = try capture(name, anonymize: false, in: directory, out: "captured")
        // The same database, so the same expected result as the shipped one.
        let (captured, _) = try SnapshotVerifier.read(folder: directory.file("captured"))
        #expect(captured.result == expectation.result)
        #expect(captured.metadata.sourceVersion == expectation.metadata.sourceVersion)
        #expect(captured.metadata.isManaged == expectation.metadata.isManaged)
        #expect(captured.metadata.journalMode == expectation.metadata.journalMode)
        #expect(captured.metadata.defaultNetwork == expectation.metadata.defaultNetwork)
        let verification = SnapshotTestSupport.verifier.verify(folder: directory.file("captured"))
        #expect(verification.outcome == .passed, "\(verification.differences)")
        for path in [report.dumpPath, report.expectedPath] {
            let mode = try #require(FileManager.default.attributesOfItem(atPath: path)[.posixPermissions] as? Int)
            #expect(mode == 0o600, "\(path) has mode \(String(mode, radix: 8))")
        }
        _ = source
    }

    @Test func captureNeverModifiesTheSourceAndNeverOverwrites() throws {
        let directory = try TemporaryDirectory("capture")
        let (source, expectation) = try SnapshotTestSupport.load("v2-wal-operator", in: directory)
        let before = try Fixtures.fileHash(source)
        let capture = SnapshotCapture(migrator: Fixtures.migrator)
        _ = try capture.capture(database: source, to: directory.file("one"))
        #expect(try Fixtures.fileHash(source) == before)
        let expectedBefore = try Fixtures.fileHash(directory.file("one/expected.json"))
        let again = try #require(throws: MigrationError.self) { try capture.capture(database: source, to: directory.file("one")) }
        #expect(again.code == .fileExists, "\(again)")
        #expect(try Fixtures.fileHash(directory.file("one/expected.json")) == expectedBefore)
        // A dump file path: expected.json goes beside it.
        let report = try capture.capture(database: source, to: directory.file("two/prod.sql"))
        #expect(report.expectedPath == directory.file("two/expected.json"))
        #expect(SnapshotTestSupport.verifier.verify(folder: directory.file("two")).outcome == .passed)
        _ = expectation
    }

    @Test func aDatabaseThatNeedsANetworkIsRefusedWithoutOne() throws {
        let directory = try TemporaryDirectory("capture")
        let (source, _) = try SnapshotTestSupport.load("v2-nulls", in: directory)
        let error = try #require(throws: MigrationError.self) {
            try SnapshotCapture(migrator: Fixtures.migrator).capture(database: source, to: directory.file("out"))
        }
        #expect(error.code == .missingParameter && error.parameter == "default_network")
        #expect(!FileManager.default.fileExists(atPath: directory.file("out/dump.sql")))
    }

    @Test(arguments: ShippedSnapshots.names)
    func anonymizedCaptureHoldsNoneOfTheNamesOrAddresses(_ name: String) throws {
        let directory = try TemporaryDirectory("anonymize")
        let (source, expectation, report) = try capture(name, anonymize: true, in: directory)
        let dump = try String(contentsOfFile: report.dumpPath, encoding: .utf8)
        let secrets = try DatabaseQueue(path: source).read { db -> [String] in
            var values: [String] = []
            let columns = try String.fetchAll(db, sql: "SELECT name FROM pragma_table_info('vms')")
            for column in ["name", "ipv4", "ipv6", "mycelium_ip", "owner_email", "owner's note"] where columns.contains(column) {
                values += try String.fetchAll(db, sql: "SELECT \(column.quotedIdentifier) FROM vms WHERE \(column.quotedIdentifier) IS NOT NULL")
            }
            return values
        }
        #expect(!secrets.isEmpty)
        // Every quoted piece of the dump, for a fast whole-value check on the large snapshot.
        let pieces = Set(dump.split(separator: "'", omittingEmptySubsequences: true).map(String.init))
        for (index, secret) in secrets.enumerated() where secret.count >= 3 && secret.contains(where: { $0.isLetter || $0.isNumber }) {
            // As a dump writes it: quotes doubled, control characters outside the literal.
            let written = String(SQLDumper.textLiteral(secret).dropFirst().dropLast())
            #expect(!pieces.contains(written), "\(name): the anonymized dump still holds \(secret.prefix(40))")
            // Anywhere (inside JSON too): every value of the small snapshots, a sample of the large one.
            if index < 200 || dump.utf8.count < 100_000 {
                #expect(!dump.contains(written) && !dump.contains(secret), "\(name): the anonymized dump still holds \(secret.prefix(40))")
            }
        }
        // Ids, networks, counts are kept; the result verifies.
        let (captured, _) = try SnapshotVerifier.read(folder: directory.file("captured"))
        for (table, expected) in expectation.result.tables {
            #expect(captured.result.tables[table]?.rows == expected.rows, "\(name): \(table)")
            #expect(captured.result.tables[table]?.rowsPerNetwork == expected.rowsPerNetwork, "\(name): \(table)")
        }
        #expect(SnapshotTestSupport.verifier.verify(folder: directory.file("captured")).outcome == .passed)
    }

    @Test func anonymizationKeepsIdsNullsAndLengthsAndIsStable() throws {
        let directory = try TemporaryDirectory("anonymize")
        let key = Array(repeating: UInt8(7), count: 32)
        let first = try capture("v2-nulls", anonymize: true, in: directory, key: key, out: "a")
        let second = try SnapshotCapture(migrator: Fixtures.migrator).capture(
            database: first.source, to: directory.file("b"),
            options: { var o = SnapshotCapture.Options(); o.anonymize = true; o.defaultNetwork = "test"; o.anonymizationKey = key; return o }())
        #expect(try String(contentsOfFile: first.report.dumpPath, encoding: .utf8) == String(contentsOfFile: second.dumpPath, encoding: .utf8))

        // Shape: per column, the same NULLs, the same ids, the same lengths in characters.
        let loaded = directory.file("anonymized.db")
        try SnapshotFiles.load(dump: try String(contentsOfFile: first.report.dumpPath, encoding: .utf8), to: loaded, journalMode: "delete")
        let sql = "SELECT id, vm_id, network, name, ipv4, metadata, created_at FROM vms ORDER BY id"
        let original = try DatabaseQueue(path: first.source).read { try Row.fetchAll($0, sql: sql) }
        let fake = try DatabaseQueue(path: loaded).read { try Row.fetchAll($0, sql: sql) }
        #expect(original.count == fake.count)
        for (o, f) in zip(original, fake) {
            for column in ["id", "vm_id", "network", "created_at"] { #expect(o[column] as DatabaseValue == f[column] as DatabaseValue) }
            for column in ["name", "ipv4", "metadata"] {
                let ov = o[column] as String?, fv = f[column] as String?
                #expect((ov == nil) == (fv == nil), "\(column) NULLs")
                if let ov, let fv { #expect(ov.count == fv.count, "\(column): \(ov) → \(fv)") }
            }
        }
    }

    @Test func fakesKeepTheShapeOfAddressesAndJSON() {
        let anonymizer = Anonymizer()
        let ipv4 = anonymizer.fakeText("185.69.166.12/24")
        #expect(ipv4 != "185.69.166.12/24" && ipv4.hasSuffix("/24") && ipv4.split(separator: ".").count == 4)
        #expect(ipv4.split(separator: "/")[0].split(separator: ".").allSatisfy { Int($0).map { (0...255).contains($0) } ?? false })
        let mycelium = anonymizer.fakeText("4a3:77f2:1e2b:9c01:5d2e:81aa:2f10:7c3d")
        #expect(mycelium.split(separator: ":").map(\.count) == [3, 4, 4, 4, 4, 4, 4, 4])
        let json = anonymizer.fakeText(#"{"tags":["web"],"owner":"Alice \"A\" Martin","n":3}"#)
        #expect(json.hasPrefix(#"{"tags":[""#) && json.contains(#""owner":""#) && json.hasSuffix(#","n":3}"#))
        #expect(!json.contains("Alice") && !json.contains("web"))
        #expect((try? JSONSerialization.jsonObject(with: Data(json.utf8))) != nil)
        #expect(anonymizer.fakeText("web-frontend") == anonymizer.fakeText("web-frontend"))
        #expect(Anonymizer.keeps(table: "vms", column: "vm_id") && !Anonymizer.keeps(table: "vms", column: "name"))
    }
}
