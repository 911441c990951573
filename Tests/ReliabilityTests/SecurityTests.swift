import Foundation
import GRDB
import Testing
import VMDBTestSupport

/// Values reach SQL only as bound parameters; every file vmdb creates is
/// private (0600) and lands in the folder the operator chose.
@Suite struct SecurityTests {
    /// Ids and names made of SQL and shell metacharacters (and a few Unicode traps).
    static let hostile: [String] = [
        "'; DROP TABLE vms; --", "\" OR \"1\"=\"1", "x' || (SELECT 'pwn') || '", "$(touch /tmp/vmdb-pwned)", "`id`",
        "a\\b\\'c", "%s%n%x", "; rm -rf / #", "<script>alert(1)</script>", "*", "?", ":name", "@p", "$1",
        "\u{202e}evil", "😀/🚀", "' UNION SELECT sqlite_version() --", "x\"y'z`w", "name with  spaces", "-rf",
    ]

    @Test func metacharactersStoredThroughTheCLIReadBackIntact() throws {
        let directory = try TemporaryDirectory("metachar")
        let path = try Fixtures.database(version: 3, in: directory)
        let entries = Self.hostile.enumerated().map { index, text -> [String: Any] in
            ["vm_id": text, "name": "name " + text, "status": "running", "node_id": index, "flist": text]
        }
        let inventory = directory.file("hostile.json")
        try JSONSerialization.data(withJSONObject: ["network": "main", "vms": entries] as [String: Any]).write(to: URL(fileURLWithPath: inventory))
        let apply = try Reliability.vmdb(["repair", "--db", path, "--inventory", inventory, "--apply", "--no-backup"])
        #expect(apply.exitCode == 0, "\(apply.standardError)")

        // Read back through the CLI, one by one, keyed on the pair.
        for text in Self.hostile {
            let show = try Reliability.vmdb(["vm", "show", "main/\(text)", "--db", path, "--format", "json"])
            #expect(show.exitCode == 0, "\(text): \(show.standardError)")
            let object = try? JSONSerialization.jsonObject(with: Data(show.standardOutput.utf8)) as? [String: Any]
            let vm = (object?["vm"] as? [String: Any]) ?? object
            #expect(vm?["vm_id"] as? String == text || show.standardOutput.contains(jsonEscaped(text)), "\(text): \(show.standardOutput)")
            #expect(show.standardOutput.contains(jsonEscaped("name " + text)), "\(text): name not intact")
        }
        // And the file: every value byte for byte, the tables all there, the audit trail intact.
        let queue = try DatabaseQueue(path: path)
        try queue.read { db in
            // (Recorded in (network, vm_id) order, so compared as sets; byte for byte, no normalisation.)
            let stored = try String.fetchAll(db, sql: "SELECT vm_id FROM vms WHERE network = 'main'")
            #expect(Set(stored.map { Array($0.utf8) }) == Set(Self.hostile.map { Array($0.utf8) }))
            let names = try String.fetchAll(db, sql: "SELECT name FROM vms")
            #expect(Set(names.map { Array($0.utf8) }) == Set(Self.hostile.map { Array(("name " + $0).utf8) }))
            #expect(try String.fetchAll(db, sql: "SELECT flist FROM vms WHERE vm_id = ?", arguments: ["'; DROP TABLE vms; --"]) == ["'; DROP TABLE vms; --"])
            #expect(try Int.fetchOne(db, sql: "SELECT count(*) FROM vm_repairs") == Self.hostile.count)
            #expect(try Reliability.integrity(db) == ["ok"])
        }
        #expect(!FileManager.default.fileExists(atPath: "/tmp/vmdb-pwned"))

        // Delete one through the CLI: exactly that pair goes.
        let delete = try Reliability.vmdb(["vm", "delete", "main/'; DROP TABLE vms; --", "--db", path])
        #expect(delete.exitCode == 0, "\(delete.standardError)")
        #expect(try queue.read { try Int.fetchOne($0, sql: "SELECT count(*) FROM vms") } == Self.hostile.count - 1)
        try queue.close()
    }

    @Test func aDefaultNetworkOfSQLMetacharactersIsStoredAsGiven() throws {
        let directory = try TemporaryDirectory("network-sql")
        let path = try Fixtures.database(version: 1, in: directory)
        try Fixtures.insertV1(Fixtures.eightVMIds, into: path)
        let network = "x'||(SELECT'pwn')||'\"--;"
        let result = try Reliability.vmdb(["migrate", "--db", path, "--default-network", network])
        #expect(result.exitCode == 0, "\(result.standardError)")
        let stored = try DatabaseQueue(path: path).read { try String.fetchSet($0, sql: "SELECT network FROM vms") }
        #expect(stored == [network])
    }

    /// Every file vmdb creates from a database is mode 0600, whatever the umask.
    @Test func backupsCopiesAndSnapshotsArePrivate() throws {
        let directory = try TemporaryDirectory("modes")
        let path = try Fixtures.database(version: 2, in: directory)
        try Fixtures.insertV2([(network: "main", id: "0001"), (network: "qa", id: "0002")], into: path)
        let backups = directory.file("backups")
        try FileManager.default.createDirectory(atPath: backups, withIntermediateDirectories: false)
        let previous = umask(0)  // the most permissive umask: modes must come from vmdb, not from it
        defer { umask(previous) }
        let runs: [(label: String, arguments: [String], file: () -> String?)] = [
            ("vmdb backup --to", ["backup", "--db", path, "--to", directory.file("manual.backup")], { directory.file("manual.backup") }),
            ("migrate --dry-run --keep-copy", ["migrate", "--dry-run", "--db", path, "--keep-copy", directory.file("copy.db")], { directory.file("copy.db") }),
            ("snapshots capture", ["snapshots", "capture", "--db", path, "--out", directory.file("snap")], { nil }),
            ("migrate backup", ["migrate", "--db", path, "--backup-dir", backups], { Reliability.files(in: backups, suffix: ".backup").first }),
            ("restore safety backup", ["restore", "--db", path, "--from", directory.file("manual.backup"), "--backup-dir", directory.file("safety")], { nil }),
        ]
        try FileManager.default.createDirectory(atPath: directory.file("safety"), withIntermediateDirectories: false)
        for run in runs {
            let result = try Reliability.vmdb(run.arguments)
            #expect(result.exitCode == 0, "\(run.label): \(result.standardError)")
            if let file = run.file() {
                #expect(Reliability.mode(file) == 0o600, "\(run.label): \(file) is mode \(String(Reliability.mode(file), radix: 8))")
            }
        }
        for file in Reliability.files(in: directory.file("safety"), suffix: ".backup") {
            #expect(Reliability.mode(file) == 0o600, "restore's safety backup \(file) is mode \(String(Reliability.mode(file), radix: 8))")
        }
        #expect(!Reliability.files(in: directory.file("safety"), suffix: ".backup").isEmpty)
        let snapshot = directory.file("snap")
        for name in (try? FileManager.default.subpathsOfDirectory(atPath: snapshot)) ?? [] {
            let file = (snapshot as NSString).appendingPathComponent(name)
            var isDirectory: ObjCBool = false
            _ = FileManager.default.fileExists(atPath: file, isDirectory: &isDirectory)
            if !isDirectory.boolValue {
                #expect(Reliability.mode(file) & 0o077 == 0, "snapshot file \(name) is mode \(String(Reliability.mode(file), radix: 8))")
            }
        }
    }

    /// Database names that try to steer the backup elsewhere: it lands in the chosen folder, under the base name.
    @Test(arguments: ["sub/../x.db", "-x.db", "x .db", "x\nname.db", "x;$(id).db", "..db", "x.db.v2.backup", "*.db"])
    func theBackupLandsInTheChosenFolder(_ name: String) throws {
        let directory = try TemporaryDirectory("steer")
        try FileManager.default.createDirectory(atPath: directory.file("sub"), withIntermediateDirectories: false)
        let chosen = directory.file("chosen")
        try FileManager.default.createDirectory(atPath: chosen, withIntermediateDirectories: false)
        let path = directory.file(name)
        try Fixtures.migrator.createDatabase(path: path, version: 2)
        let result = try Reliability.vmdb(["migrate", "--db", path, "--backup-dir", chosen])
        #expect(result.exitCode == 0, "\(name): \(result.standardError)")
        let inChosen = Reliability.files(in: chosen, suffix: ".backup")
        #expect(inChosen.count == 1, "\(name): backups in the chosen folder: \(inChosen)")
        // Nothing else appeared anywhere under the test folder but the database's own files.
        let all = (try FileManager.default.subpathsOfDirectory(atPath: directory.path))
            .filter { $0.hasSuffix(".backup") && $0 != name && !$0.hasPrefix(name + "-") }
        #expect(all.count == 1 && all[0].hasPrefix("chosen/"), "\(name): \(all)")
        // Without --backup-dir it lands beside the database.
        let second = directory.file("beside-" + (name as NSString).lastPathComponent)
        try Fixtures.migrator.createDatabase(path: second, version: 2)
        #expect(try Reliability.vmdb(["migrate", "--db", second]).exitCode == 0)
        let beside = Reliability.files(in: (second as NSString).deletingLastPathComponent, suffix: ".backup")
        #expect(beside.contains { ($0 as NSString).lastPathComponent.hasPrefix((second as NSString).lastPathComponent + ".v2.") })
    }

    /// A symlink planted where a backup will be written is never followed.
    @Test func aBackupNeverFollowsAPlantedSymlink() throws {
        let directory = try TemporaryDirectory("symlink")
        let path = try Fixtures.database(version: 2, in: directory)
        let victim = directory.file("victim")
        let link = directory.file("evil.backup")
        try FileManager.default.createSymbolicLink(atPath: link, withDestinationPath: victim)
        let result = try Reliability.vmdb(["backup", "--db", path, "--to", link])
        #expect(result.exitCode != 0, "the backup followed a symlink")
        #expect(!FileManager.default.fileExists(atPath: victim))
    }
}

/// `text` as JSONEncoder writes it inside a string (without the quotes), slashes unescaped.
func jsonEscaped(_ text: String) -> String {
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.withoutEscapingSlashes]
    let data = (try? encoder.encode(text)) ?? Data()
    return String(String(decoding: data, as: UTF8.self).dropFirst().dropLast())
}
