import Foundation
import MigrationKit
import PostgresAccess
import PostgresNIO
import SQLiteFiles

extension PostgresMigrator {
    /// Takes a backup of `location` into the new file `destination` (mode 0600, never
    /// overwritten): pg_dump's custom format from one exported snapshot, in which the schema
    /// version and every table's rows and content hash are read too. The record is written
    /// beside it (``PostgresBackupRecord/recordPath(for:)``), where a restore checks it.
    ///
    /// - Parameter toolFolder: the folder of pg_dump, pg_restore and psql; nil: Debian's newest, then `PATH`.
    /// - Throws: ``MigrationError``: `fileExists` or `cannotCreate` (the destination), `unusableFile` (no pg_dump:
    ///   the message names Debian's package), `ioError` (pg_dump failed; nothing is left at `destination`);
    ///   `PostgresConnectionError` when the server cannot be reached.
    public func backup(_ location: PostgresLocation, to destination: String, toolFolder: String? = nil) async throws -> PostgresBackupRecord {
        let tools = try PostgresTools.locate(in: toolFolder.map { [$0] })
        return try await connected(location) { db in
            try await backup(location, session: PostgresSession(db, location: location, version: nil), tools: tools, to: destination)
        }
    }

    /// pg_dump into the new file `destination`, its record beside it; nothing is left of either on failure.
    private func backup(_ location: PostgresLocation, session: PostgresSession, tools: PostgresTools,
                        to destination: String) async throws -> PostgresBackupRecord {
        let recordPath = PostgresBackupRecord.recordPath(for: destination)
        try createPrivateFiles([destination, recordPath])
        do {
            let record = try await dump(location, session: session, tools: tools, to: destination)
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
            try encoder.encode(record).write(to: URL(fileURLWithPath: recordPath))
            return record
        } catch {
            for path in [destination, recordPath] { try? FileManager.default.removeItem(atPath: path) }
            throw error
        }
    }

    /// pg_dump of `location` into the existing empty file `destination`, from a snapshot
    /// `session` exports; its record.
    func dump(_ location: PostgresLocation, session: PostgresSession, tools: PostgresTools, to destination: String) async throws -> PostgresBackupRecord {
        let watch = Stopwatch()
        let snapshot = PostgresSnapshot(session: session)
        let (version, tables) = try await snapshot.withExported { name in
            let version = try await snapshot.schemaVersion(configuration)
            let tables = try await snapshot.tables()
            let output = try FileHandle(forWritingTo: URL(fileURLWithPath: destination))
            defer { try? output.close() }
            // -w: never prompt for a password (the environment has it, or there is none).
            try await tools.run(tools.pgDump, ["-w", "--format=custom", "--snapshot=\(name)"], at: location, output: output,
                                doing: "the backup into \(destination)")
            try output.synchronize()
            return (version, tables)
        }
        return PostgresBackupRecord(
            database: location.description, path: destination, bytes: DiskSpace.fileSize(destination),
            sha256: try BackupService.sha256(ofFile: destination), schemaVersion: version, tables: tables,
            takenAt: UTCTimestamp.now(), seconds: watch.elapsedSeconds)
    }

    /// Puts the backup at `source` back into `location`, in one transaction: the backup is
    /// checked first (its record's sha256 when the record is beside it, pg_restore's table of
    /// contents, the history table in it, and every byte read through), the current content is
    /// backed up unless `takesSafetyBackup` is false, then every table of the current schema is
    /// dropped and the backup's put in their place by psql in one transaction; any failure rolls
    /// all of it back. A migrator is kept out meanwhile (the advisory lock).
    ///
    /// - Parameter safetyBackupDirectory: where the safety backup goes; nil: beside `source`.
    /// - Throws: ``MigrationError``: `unusableFile` (the backup is missing, truncated, corrupt or differs from its
    ///   record; the database was not touched), `unknownSchema` (not a backup of a database with this history),
    ///   `migratorRunning`, `locked` (a deployer's transaction held a table past the lock timeout; rolled back),
    ///   `ioError` (the restore failed and was rolled back), and the backup's errors for the safety backup.
    public func restore(_ location: PostgresLocation, from source: String, safetyBackupDirectory: String?, takesSafetyBackup: Bool,
                        toolFolder: String? = nil) async throws -> PostgresRestoreReport {
        let watch = Stopwatch()
        let tools = try PostgresTools.locate(in: toolFolder.map { [$0] })
        let record = try checkedRecord(of: source)
        let folder = try workFolder("restore")
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let script = try await restoreScript(of: source, tools: tools, at: location, in: folder)

        return try await connected(location) { db in
            let session = PostgresSession(db, location: location, version: nil)
            let lock = PostgresMigrationLock(key: configuration.historyTable)
            try await lock.acquire(session)
            do {
                var safety: PostgresBackupRecord?
                if takesSafetyBackup {
                    let version = try await PostgresHistory(configuration).read(session).last?.version ?? 0
                    let directory = safetyBackupDirectory ?? (source as NSString).deletingLastPathComponent
                    let stamp = UTCTimestamp.now().replacingOccurrences(of: ":", with: "").replacingOccurrences(of: "-", with: "")
                    // The database's name as a file name only: a "/" in it never leaves the folder.
                    let base = location.database.replacingOccurrences(of: "/", with: "_")
                    let path = ((directory.isEmpty ? "." : directory) as NSString).appendingPathComponent("\(base).v\(version).\(stamp).pgdump")
                    safety = try await backup(location, session: session, tools: tools, to: path)
                }
                try await load(script, into: location, replacingCurrentSchema: true, tools: tools, doing: "restoring \(source)")
                let restored = PostgresSnapshot(session: session)
                let (version, tables) = try await restored.withExported { _ in (try await restored.schemaVersion(configuration), try await restored.tables()) }
                try await lock.release(session)
                return PostgresRestoreReport(database: location.description, restoredFrom: source, restoredVersion: version,
                                             safetyBackup: safety, matchesRecord: record.map { $0.tables == tables }, seconds: watch.elapsedSeconds)
            } catch {
                try? await lock.release(session)
                throw error
            }
        }
    }

    /// The record beside `source`, checked against the file (nil when there is none).
    private func checkedRecord(of source: String) throws -> PostgresBackupRecord? {
        guard FileManager.default.isReadableFile(atPath: source) else {
            throw MigrationError(.unusableFile, "the backup \(source) does not exist or cannot be read: nothing was restored and the database is unchanged", path: source)
        }
        let recordPath = PostgresBackupRecord.recordPath(for: source)
        guard FileManager.default.fileExists(atPath: recordPath) else { return nil }
        let record: PostgresBackupRecord
        do {
            record = try JSONDecoder().decode(PostgresBackupRecord.self, from: Data(contentsOf: URL(fileURLWithPath: recordPath)))
        } catch {
            throw MigrationError(.unusableFile, "the record of the backup \(source), \(recordPath), cannot be read (\(error)): nothing was restored and the database is unchanged. Move the record away to restore without it", path: recordPath)
        }
        let sha256 = try BackupService.sha256(ofFile: source)
        guard sha256 == record.sha256 else {
            throw MigrationError(.unusableFile, "the backup \(source) has sha256 \(sha256.prefix(12)), and its record \(recordPath) says \(record.sha256.prefix(12)): the file changed after it was taken. Nothing was restored and the database is unchanged; use another backup", path: source)
        }
        return record
    }

    /// The backup as SQL for psql, in `folder`: pg_restore reads its table of contents (a backup
    /// of a database with this history) and then every byte (a truncated or corrupt file fails
    /// here, before anything is touched).
    private func restoreScript(of source: String, tools: PostgresTools, at location: PostgresLocation, in folder: String) async throws -> String {
        let contents = (folder as NSString).appendingPathComponent("contents.txt")
        let script = (folder as NSString).appendingPathComponent("restore.sql")
        do {
            try await tools.run(tools.pgRestore, ["--list", "--file=\(contents)", source], at: location, doing: "reading the backup \(source)")
            // Owners stay those of the restoring role: the backup's may not exist here.
            try await tools.run(tools.pgRestore, ["--no-owner", "--file=\(script)", source], at: location, doing: "reading the backup \(source)")
        } catch let error as MigrationError where error.code == .ioError {
            throw MigrationError(.unusableFile, "the backup \(source) cannot be read whole: \(error.message). Nothing was restored and the database is unchanged; use another backup", path: source)
        }
        let listing = (try? String(contentsOfFile: contents, encoding: .utf8)) ?? ""
        let holdsHistory = listing.split(separator: "\n").contains { line in
            line.contains(" TABLE DATA ") && line.split(separator: " ").contains(Substring(configuration.historyTable))
        }
        guard holdsHistory else {
            throw MigrationError(.unknownSchema, "the backup \(source) holds no \(configuration.historyTable) table: it is not a backup of a database this tool migrates. Nothing was restored and the database is unchanged", path: source)
        }
        return script
    }

    /// Runs `script` (pg_restore's SQL) with psql in one transaction at `location`; with
    /// `replacingCurrentSchema`, every table, view, sequence, function and type of the current schema is dropped
    /// first in that transaction, so the result is the backup's tables and nothing else. A lock
    /// not had within the migrator's lock timeout fails it (busy) instead of queueing the deployer.
    func load(_ script: String, into location: PostgresLocation, replacingCurrentSchema: Bool, tools: PostgresTools,
              doing activity: String) async throws {
        var arguments = ["-X", "-q", "-w", "--set=ON_ERROR_STOP=1", "--single-transaction"]
        if replacingCurrentSchema { arguments += ["--command=\(Self.dropCurrentSchema)"] }
        arguments += ["--file=\(script)"]
        do {
            try await tools.run(tools.psql, arguments, at: location, environment: ["PGOPTIONS": "-c lock_timeout=\(max(1, lockTimeoutMilliseconds))"],
                                doing: activity)
        } catch let error as MigrationError where error.code == .ioError && error.message.contains("lock timeout") {
            throw MigrationError(.locked, "\(activity): a table was held by another session past the lock timeout (\(lockTimeoutMilliseconds) ms); everything was rolled back and \(location) is as it was. Retry when the deployer's long transactions are done")
        } catch let error as MigrationError where error.code == .ioError {
            throw MigrationError(.ioError, error.message + "; everything was rolled back and \(location) is as it was")
        }
    }

    /// Drops what the current schema holds (one fixed statement, no values in it).
    static let dropCurrentSchema = """
        DO $$
        DECLARE r record;
        BEGIN
            FOR r IN SELECT c.relname, c.relkind FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
                     WHERE n.nspname = current_schema() AND c.relkind IN ('r', 'p', 'v', 'm', 'S', 'f')
                     ORDER BY c.relkind = 'S' LOOP   -- sequences last: a table's identity sequence goes with it
                EXECUTE format(CASE r.relkind
                    WHEN 'v' THEN 'DROP VIEW IF EXISTS %I CASCADE'
                    WHEN 'm' THEN 'DROP MATERIALIZED VIEW IF EXISTS %I CASCADE'
                    WHEN 'S' THEN 'DROP SEQUENCE IF EXISTS %I CASCADE'
                    WHEN 'f' THEN 'DROP FOREIGN TABLE IF EXISTS %I CASCADE'
                    ELSE 'DROP TABLE IF EXISTS %I CASCADE' END, r.relname);
            END LOOP;
            -- Functions (a migration's trigger function, an operator's) and the types an operator made:
            -- the backup brings its own, and one left here would collide with it.
            FOR r IN SELECT p.oid::regprocedure::text AS routine FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
                     WHERE n.nspname = current_schema() AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.objid = p.oid AND d.deptype = 'e') LOOP
                EXECUTE 'DROP ROUTINE IF EXISTS ' || r.routine || ' CASCADE';
            END LOOP;
            FOR r IN SELECT t.typname FROM pg_type t JOIN pg_namespace n ON n.oid = t.typnamespace
                     WHERE n.nspname = current_schema() AND t.typtype IN ('e', 'd', 'r', 'm') LOOP
                EXECUTE format('DROP TYPE IF EXISTS %I CASCADE', r.typname);
            END LOOP;
        END $$
        """

    /// A private folder for work files (pg_restore's SQL), removed by the caller.
    func workFolder(_ purpose: String) throws -> String {
        do {
            return try PrivateDirectory.make(configuration.temporaryFolderPrefix + purpose)
        } catch {
            throw MigrationError(.noTemporaryFolder, "cannot create a temporary folder in \(error.parent) (\(error.reason)); nothing was changed. Set TMPDIR to a writable folder with room for the backup's SQL")
        }
    }

    /// New empty files, mode 0600; an existing one is refused and nothing is left behind.
    func createPrivateFiles(_ paths: [String]) throws {
        var made: [String] = []
        do {
            for path in paths {
                try BackupService.createPrivateFile(path)
                made.append(path)
            }
        } catch let error as SQLiteFileError {
            for path in made { try? FileManager.default.removeItem(atPath: path) }
            throw MigrationError(error)
        }
    }
}
