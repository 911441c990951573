import Foundation
import MigrationKit
import PostgresAccess
import SQLiteFiles

extension PostgresMigrator {
    /// Applies the pending migrations to a copy of `location` and reports, without touching the
    /// live database's schema or history: a scratch database on the same server (needs CREATEDB),
    /// filled from one exported snapshot of the live one (pg_dump `--snapshot`, pg_restore, psql in
    /// one transaction), migrated there exactly as `migrate` would, and dropped after, whatever
    /// happened. A scratch database a killed dry run left behind is dropped first.
    ///
    /// - Throws: ``MigrationError`` only when the copy cannot be made or the history forbids a run
    ///   (`cannotCreate`: no CREATEDB; `newerDatabase`, `inconsistentHistory`; `unusableFile`: no
    ///   pg_dump; `ioError`), and `PostgresConnectionError`; a migration that fails on the copy is the
    ///   report's `failure`, not thrown.
    public func dryRun(_ location: PostgresLocation, to target: Int? = nil, parameters: MigrationParameters = [:],
                       toolFolder: String? = nil) async throws -> PostgresDryRunReport {
        let tools = try PostgresTools.locate(in: toolFolder.map { [$0] })
        let folder = try workFolder("dry-run")
        defer { try? FileManager.default.removeItem(atPath: folder) }
        return try await connected(location) { db in
            let session = PostgresSession(db, location: location, version: nil)
            let applied = try await PostgresHistory(configuration).read(session)
            try check(applied, against: catalog, location: location)
            let from = applied.last?.version ?? 0
            let pending = catalog.scripts.filter { $0.version > from && $0.version <= (target ?? .max) }
            let scratches = ScratchDatabases(configuration: configuration, session: session)
            _ = try await scratches.dropLeftovers()
            let name = try await scratches.create()
            let scratch = location.onDatabase(name)
            do {
                // A connection held to the scratch database for its whole life: another dry run's cleanup leaves it alone.
                let report = try await scratch.withClient { client in
                    try await client.withConnection { _ in
                        let watch = Stopwatch()
                        let dumpPath = (folder as NSString).appendingPathComponent("live.pgdump")
                        let script = (folder as NSString).appendingPathComponent("copy.sql")
                        try createPrivateFiles([dumpPath])
                        let copy = try await dump(location, session: session, tools: tools, to: dumpPath)
                        try await tools.run(tools.pgRestore, ["--no-owner", "--file=\(script)", dumpPath], at: location,
                                            doing: "reading the dry run's copy")
                        try await load(script, into: scratch, replacingCurrentSchema: false, tools: tools, doing: "filling the dry run's copy")
                        let copySeconds = watch.elapsedSeconds
                        var recorded: [AppliedMigration] = []
                        var failure: DryRunReport.Failure?
                        do {
                            recorded = try await migrate(scratch, to: target, parameters: parameters)
                        } catch let error as MigrationError {
                            failure = .init(error.replacingPath(scratch.description, with: location.description))
                        }
                        return PostgresDryRunReport(
                            database: location.description, fromVersion: from, toVersion: target ?? catalog.latestVersion, scratchDatabase: name,
                            pending: pending.map { .init(version: $0.version, name: $0.name) }, copiedTables: copy.tables,
                            copySeconds: copySeconds, copyBytes: copy.bytes, applied: recorded, failure: failure)
                    }
                }
                try await scratches.drop(name)
                return report
            } catch {
                try? await scratches.drop(name)
                throw error
            }
        }
    }
}
