import Foundation
import GRDB
import Testing
import VMDBTestSupport

/// What the online-migration fault tests share (issue 13): reading a file a kill
/// left while the deployer keeps writing, what `status` says of it, the online
/// objects left in it, the deployer's errors by kind, and the replay oracle.
enum OnlineReliability {
    /// Opens `path` briefly (a busy timeout, in case recovery needs a lock) and reads it.
    static func read<T>(_ path: String, _ body: (Database) throws -> T) throws -> T {
        var configuration = Configuration()
        configuration.busyMode = .timeout(10)
        let queue = try DatabaseQueue(path: path, configuration: configuration)
        defer { try? queue.close() }
        return try queue.read(body)
    }

    /// The online path's objects (`vmdb_new_*`, `vmdb_old_*`, `vmdb_online_*`, their
    /// indexes and triggers): none may be left once a migration has finished.
    static func leftovers(_ db: Database) throws -> [String] {
        try String.fetchAll(db, sql: """
            SELECT type || ' ' || name FROM sqlite_master
            WHERE (name LIKE 'vmdb\\_new\\_%' ESCAPE '\\' OR name LIKE 'vmdb\\_old\\_%' ESCAPE '\\' OR name LIKE 'vmdb\\_online\\_%' ESCAPE '\\'
                   OR tbl_name LIKE 'vmdb\\_new\\_%' ESCAPE '\\' OR tbl_name LIKE 'vmdb\\_old\\_%' ESCAPE '\\')
            ORDER BY name
            """)
    }

    /// The phase the online state table records (`copy`, `drain`, `abort`), nil without one.
    static func recordedPhase(_ db: Database) throws -> String? {
        guard try db.tableExists("vmdb_online_state") else { return nil }
        guard let json = try String.fetchOne(db, sql: "SELECT value FROM vmdb_online_state WHERE key = 'state'") else { return "no state row" }
        let object = try JSONSerialization.jsonObject(with: Data(json.utf8)) as? [String: Any]
        return object?["phase"] as? String ?? "unreadable"
    }

    /// `vmdb status --format json`, as an operator's script reads it.
    struct Status {
        let exitCode: Int32
        let version: Int?
        /// The online migration status reports, nil when it reports none.
        let onlinePhase: String?
        let onlineVersion: Int?
        let standardError: String
    }

    static func status(_ path: String) throws -> Status {
        let result = try VMDBProcess.run(["status", "--db", path, "--format", "json"])
        let object = try? JSONSerialization.jsonObject(with: Data(result.standardOutput.utf8)) as? [String: Any]
        let online = object?["online"] as? [String: Any]
        return Status(exitCode: result.exitCode, version: object?["currentVersion"] as? Int,
                      onlinePhase: online?["phase"] as? String, onlineVersion: online?["version"] as? Int,
                      standardError: result.standardError)
    }

    /// The deployer's failed writes by cause: "database is locked" (it waited its whole
    /// busy timeout), the disk, and anything else (a trigger's error, a missing table: a bug).
    struct DeployerErrors {
        var locked: [String] = []
        var diskFull: [String] = []
        var other: [String] = []

        init(_ deployer: MixedDeployer) {
            for failure in deployer.failures {
                if failure.contains("database is locked") { locked.append(failure) }
                else if failure.contains("disk is full") { diskFull.append(failure) }
                else { other.append(failure) }
            }
        }
    }

    /// Rows of every table the deployer or the migration touches, and the schema.
    static func contents(_ path: String) throws -> [String: [[DatabaseValue]]] {
        try read(path) { db in
            var result: [String: [[DatabaseValue]]] = [:]
            for table in ["vms", "vm_events", "vm_repairs"] where try db.tableExists(table) {
                result[table] = try Row.fetchAll(db, sql: "SELECT * FROM \(table) ORDER BY rowid").map { Array($0.databaseValues) }
            }
            result["schema"] = try Row.fetchAll(db, sql: "SELECT type, name, tbl_name, sql FROM sqlite_master WHERE name NOT LIKE 'vmdb_migrations' ORDER BY name").map { Array($0.databaseValues) }
            return result
        }
    }

    /// The oracle: `template` (the file before the deployer started) with every write
    /// the deployer was told succeeded replayed in order, then migrated offline, must
    /// hold exactly the rows and schema `live` holds. Returns the differences.
    static func oracleDifferences(live: String, template: String, deployer: MixedDeployer, in directory: TemporaryDirectory, label: String) throws -> [String] {
        let original = directory.file("oracle-\(label).db")
        try Reliability.copy(template, to: original)
        try MixedDeployer.replay(deployer.logPath, onto: original)
        let offline = try VMDBProcess.run(["migrate", "--db", original, "--no-backup", "--default-network", "main"])
        guard offline.exitCode == 0 else { return ["the oracle's offline migration failed (\(offline.exitCode)): \(offline.standardError)"] }
        let online = try contents(live), expected = try contents(original)
        var differences: [String] = []
        for table in ["vms", "vm_events", "vm_repairs", "schema"] {
            let have = online[table] ?? [], want = expected[table] ?? []
            if have.count != want.count { differences.append("\(table): \(have.count) rows, the oracle \(want.count)") }
            let differing = zip(have, want).filter { $0 != $1 }
            if let first = differing.first { differences.append("\(table): \(differing.count) rows differ, first \(first.0) vs \(first.1)") }
        }
        for suffix in ["", "-wal", "-shm"] { try? FileManager.default.removeItem(atPath: original + suffix) }
        return differences
    }

    /// The last line of standard error holding `needle`.
    static func lastLine(_ text: String, containing needle: String) -> String {
        text.split(separator: "\n").last { $0.contains(needle) }.map(String.init) ?? ""
    }
}
