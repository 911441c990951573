import ContentHash
import Foundation
import GRDB
import Logging
import MigrationKit
import MigrationKitPostgres
import PostgresAccess
import PostgresNIO
import SQLiteFiles

/// Migrates every snapshot on PostgreSQL too, and checks it ends as on SQLite.
///
/// For one snapshot: a scratch database of its own on the server, made at the snapshot's version
/// by the PostgreSQL migrations; the dump's rows copied into it (``SQLiteRowCopier``: bound
/// multi-row inserts, each value its own type, a value PostgreSQL cannot take refused by name);
/// migrated to the latest version, verified as every PostgreSQL migration is; then every table's
/// rows and content hash compared with the same dump migrated on SQLite, over the columns the
/// PostgreSQL table has (the content hash is equal across engines, `ContentHash`), and the schema
/// compared with a fresh install's (`PostgresMigrator.verify`). What the
/// operator added on SQLite (tables, columns) has no PostgreSQL form: it is not copied, and named.
/// The scratch database is dropped after.
public struct PostgresSnapshotVerifier: Sendable {
    /// The SQLite side: its migrator migrates the dump there, as `vmdb snapshots verify` does.
    public let sqlite: SnapshotVerifier
    public let postgres: PostgresMigrator
    /// A URL of the server whose user may create databases; each snapshot gets one of its own there.
    public let serverURL: String

    public init(sqlite: SnapshotVerifier, postgres: PostgresMigrator, serverURL: String) {
        self.sqlite = sqlite
        self.postgres = postgres
        self.serverURL = serverURL
    }

    /// Verifies every snapshot folder in `directory`, by name, one at a time.
    ///
    /// - Throws: ``MigrationError`` `unusableFile` when the folder does not exist or holds no snapshot.
    public func verifyAll(in directory: String) async throws -> SnapshotSuiteReport {
        var verifications: [SnapshotVerification] = []
        for folder in try SnapshotVerifier.snapshotFolders(in: directory) {
            verifications.append(await verify(folder: folder))
        }
        return SnapshotSuiteReport(directory: directory, snapshots: verifications)
    }

    /// Verifies the snapshot in `folder` on PostgreSQL; never throws, a problem is a failed outcome.
    public func verify(folder: String) async -> SnapshotVerification {
        let name = (folder as NSString).lastPathComponent
        let expectation: SnapshotExpectation
        let dump: String
        do {
            (expectation, dump) = try SnapshotVerifier.read(folder: folder)
        } catch {
            return SnapshotVerification(name: name, path: folder, outcome: .unusable, description: nil, sourceVersion: nil,
                                        isManaged: nil, finalVersion: nil, rows: nil, operatorAdditions: [], differences: ["\(error)"])
        }
        let metadata = expectation.metadata
        var outcome = Outcome()
        do {
            outcome = try await compare(dump: dump, metadata: metadata)
        } catch let error as NotPortable {
            return SnapshotVerification(
                name: name, path: folder, outcome: .notPortable, description: metadata.description, sourceVersion: metadata.sourceVersion,
                isManaged: metadata.isManaged, finalVersion: nil, rows: nil, operatorAdditions: [], differences: [error.reason])
        } catch let error as MigrationError {
            outcome.differences.append("on PostgreSQL: \(error.message)")
            outcome.differences += (error.verification?.failures ?? []).map { "verification on PostgreSQL: \($0)" }
        } catch {
            outcome.differences.append("on PostgreSQL: \(error)")
        }
        return SnapshotVerification(
            name: name, path: folder, outcome: outcome.differences.isEmpty ? .passed : .failed,
            description: metadata.description, sourceVersion: metadata.sourceVersion, isManaged: metadata.isManaged,
            finalVersion: outcome.finalVersion, rows: outcome.rows, operatorAdditions: outcome.notCarried,
            differences: outcome.differences)
    }

    /// The snapshot's rows do not fit PostgreSQL's types (``SQLiteRowCopier`` names the value).
    struct NotPortable: Error { let reason: String }

    struct Outcome {
        var finalVersion: Int?
        var rows: Int?
        /// What the SQLite side has that was not carried to PostgreSQL (an operator's tables and columns).
        var notCarried: [String] = []
        var differences: [String] = []
    }

    /// The dump migrated on both engines, table by table.
    func compare(dump: String, metadata: SnapshotMetadata) async throws -> Outcome {
        let folder = try SnapshotFiles.temporaryFolder("snapshot-postgres")
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let sourcePath = (folder as NSString).appendingPathComponent("source.db")
        let migratedPath = (folder as NSString).appendingPathComponent("migrated.db")
        do {
            try SnapshotFiles.load(dump: dump, to: sourcePath, journalMode: metadata.journalMode)
            try SnapshotFiles.load(dump: dump, to: migratedPath, journalMode: metadata.journalMode)
        } catch {
            throw MigrationError(.unusableFile, "the dump does not load into SQLite: \(error)")
        }
        var parameters: MigrationParameters = [:]
        if let network = metadata.defaultNetwork { parameters["default_network"] = network }
        var options = MigrationOptions()
        options.takesBackup = false
        options.parameters = parameters
        _ = try sqlite.migrator.migrate(path: migratedPath, options: options)

        let scratch = try await ScratchDatabase.create(on: serverURL)
        do {
            let outcome = try await compare(sourcePath: sourcePath, migratedPath: migratedPath, on: scratch, metadata: metadata, parameters: parameters)
            try await scratch.drop()
            return outcome
        } catch {
            try? await scratch.drop()
            throw error
        }
    }

    private func compare(sourcePath: String, migratedPath: String, on scratch: ScratchDatabase, metadata: SnapshotMetadata,
                         parameters: MigrationParameters) async throws -> Outcome {
        var outcome = Outcome()
        _ = try await postgres.migrate(scratch.location, to: metadata.sourceVersion)
        let source = try DatabaseFile.open(sourcePath, access: .readOnly)
        defer { try? source.close() }
        let copier = SQLiteRowCopier(excludingPrefix: postgres.configuration.bookkeepingPrefix)
        let copied = try await scratch.location.withClient { client in
            try await client.withConnection { connection in
                _ = try await connection.query("BEGIN", logger: Self.logger).collect()
                do {
                    let report = try await copier.copy(from: source, to: connection, logger: Self.logger)
                    _ = try await connection.query("COMMIT", logger: Self.logger).collect()
                    return report
                } catch let error as MigrationError where error.code == .rowsNotCarried {
                    _ = try? await connection.query("ROLLBACK", logger: Self.logger).collect()
                    throw NotPortable(reason: error.message)
                } catch {
                    _ = try? await connection.query("ROLLBACK", logger: Self.logger).collect()
                    throw error
                }
            }
        }
        outcome.notCarried += copied.tablesNotCopied.map { "table \($0) (not carried to PostgreSQL)" }
        outcome.notCarried += copied.tables.flatMap { table in table.columnsNotCopied.map { "column \(table.table).\($0) (not carried to PostgreSQL)" } }
        let history = try await postgres.migrate(scratch.location, parameters: parameters)
        outcome.finalVersion = history.last?.version ?? metadata.sourceVersion
        // The schema too, as on SQLite: pg_catalog's own description against a fresh install's.
        outcome.differences += try await postgres.verify(scratch.location).drift.map { "schema on PostgreSQL: \($0)" }

        let migrated = try DatabaseFile.open(migratedPath, access: .readOnly)
        defer { try? migrated.close() }
        let prefix = postgres.configuration.bookkeepingPrefix
        let sqliteTables = try await migrated.read { db in
            try String.fetchAll(db, sql: "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite\\_%' ESCAPE '\\' ORDER BY name")
        }.filter { !$0.hasPrefix(prefix) }
        let tables = try await scratch.location.withClient { client in
            try await client.withConnection { connection in
                var hashes: [String: (columns: [String], result: ContentDigest.Result)] = [:]
                for table in try await Self.tables(connection, excludingPrefix: prefix) {
                    let columns = try await PostgresContentHasher.columnNames(connection, table: table, logger: Self.logger).sorted()
                    hashes[table] = (columns, try await PostgresContentHasher.hashAllColumns(connection, table: table, logger: Self.logger))
                }
                return hashes
            }
        }
        var rows = 0
        for table in tables.keys.sorted() {
            let (columns, onPostgres) = tables[table]!
            rows += onPostgres.rows
            guard sqliteTables.contains(table) else {
                outcome.differences.append("table \(table): on PostgreSQL, not on SQLite after migrating")
                continue
            }
            let onSQLite = try await migrated.read { db in
                try ContentHasher.hash(db, table: table, expressions: columns.map(\.quotedIdentifier), labels: columns)
            }
            if onSQLite.rows != onPostgres.rows {
                outcome.differences.append("table \(table): \(onPostgres.rows) rows on PostgreSQL, \(onSQLite.rows) on SQLite")
            } else if onSQLite.hash != onPostgres.hash {
                outcome.differences.append("table \(table): content differs between PostgreSQL and SQLite (over its PostgreSQL columns \(columns.joined(separator: ", ")))")
            }
        }
        outcome.rows = rows
        for table in sqliteTables where tables[table] == nil && !copied.tablesNotCopied.contains(table) {
            outcome.differences.append("table \(table): on SQLite after migrating, not on PostgreSQL")
        }
        return outcome
    }

    static func tables(_ connection: PostgresConnection, excludingPrefix prefix: String) async throws -> [String] {
        var names: [String] = []
        for try await name in try await connection.query("""
            SELECT c.relname::text FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
            WHERE c.relkind IN ('r', 'p') AND n.nspname = current_schema() ORDER BY c.relname
            """, logger: logger).decode(String.self) where !name.hasPrefix(prefix) {
            names.append(name)
        }
        return names
    }

    static let logger = Logger(label: "vmdb.snapshots.postgres", factory: { _ in SwiftLogNoOpLogHandler() })
}
