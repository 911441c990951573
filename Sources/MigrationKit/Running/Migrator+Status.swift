import Foundation
import GRDB
import SQLiteFiles

extension Migrator {
    /// The database's version, its history and what is pending; read-only.
    ///
    /// - Throws: ``MigrationError``: `noSuchDatabase`, `notADatabase`, `newerDatabase` or
    ///   `inconsistentHistory` for a history row this build cannot read, `locked`, `ioError`.
    public func status(path: String) throws -> DatabaseStatus {
        return try MigrationError.translatingFileErrors(path: path, doing: "reading the status") {
            let queue = try DatabaseFile.open(path, access: .readOnly)
            return try queue.read { db in try inspect(db, path: path) }
        }
    }

    func inspect(_ db: Database, path: String) throws -> DatabaseStatus {
        var status = try inspectHistory(db, path: path)
        status.online = try OnlineProgress.read(db, names: onlineNames)
        return status
    }

    private func inspectHistory(_ db: Database, path: String) throws -> DatabaseStatus {
        let journalMode = try String.fetchOne(db, sql: "PRAGMA journal_mode") ?? "unknown"
        if try history.exists(db) {
            return DatabaseStatus(path: path, history: try history.read(db, toolVersion: toolVersion), catalog: catalog,
                                  journalMode: journalMode, engine: "sqlite")
        }
        let version = try fingerprintVersion(db, path: path)
        return DatabaseStatus(
            path: path, currentVersion: version, latestVersion: catalog.latestVersion, isManaged: false,
            applied: [], pending: pending(after: version), unknownVersions: [], checksumMismatches: [],
            missingVersions: [], journalMode: journalMode)
    }

    func pending(after version: Int) -> [DatabaseStatus.Pending] {
        catalog.scripts.filter { $0.version > version }.map { .init(version: $0.version, name: $0.name) }
    }

    /// The version an unmanaged database's schema matches (the highest, when an
    /// operator's additions make it match several); refuses one that matches none.
    func fingerprintVersion(_ db: Database, path: String) throws -> Int {
        let actual = try SchemaFingerprint.read(db, excludingPrefix: configuration.bookkeepingPrefix)
        guard !actual.tables.isEmpty else {
            throw MigrationError(.emptySchema, "\(path) has no tables: it is not a database these migrations made. Check the path", path: path)
        }
        var closest: (version: Int, differences: [String])?
        for script in catalog.scripts.reversed() {
            let reference = try referenceFingerprint(version: script.version)
            let differences = reference.differences(in: actual)
            if differences.isEmpty { return script.version }
            if closest == nil || differences.count < closest!.differences.count {
                closest = (script.version, differences)
            }
        }
        let list = closest.map { closest in
            let more = closest.differences.count > 12 ? "; and \(closest.differences.count - 12) more" : ""
            return "closest is v\(closest.version): " + closest.differences.prefix(12).joined(separator: "; ") + more
        } ?? ""
        throw MigrationError(.unknownSchema, "the schema of \(path) matches no known version (\(list)). Nothing was changed; if this is a deployer database, report these differences", path: path)
    }

    func referenceFingerprint(version: Int) throws -> SchemaFingerprint {
        try referenceDatabase(version: version).read { try SchemaFingerprint.read($0, excludingPrefix: configuration.bookkeepingPrefix) }
    }

    /// An empty in-memory database migrated to `version`: what a fresh install looks like.
    ///
    /// - Throws: ``MigrationError`` (`noSuchVersion`) when the catalog has no such version.
    public func referenceDatabase(version: Int) throws -> DatabaseQueue {
        guard (0...catalog.latestVersion).contains(version) else {
            throw noSuchVersion(version)
        }
        return try MigrationError.translatingFileErrors(path: ":memory:", doing: "building the reference schema of version \(version)") {
            try freshDatabase(version: version)
        }
    }

    private func freshDatabase(version: Int) throws -> DatabaseQueue {
        var configuration = Configuration()
        configuration.foreignKeysEnabled = false
        let queue = try DatabaseQueue(configuration: configuration)
        try queue.writeWithoutTransaction { db in
            for script in catalog.scripts where script.version <= version {
                _ = try apply(db, script: script, parameters: [:], level: .counts, baseline: nil,
                              backupSHA256: nil, log: nil, progress: nil)
            }
        }
        return queue
    }
}
