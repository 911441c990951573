import Foundation
import GRDB
import SQLiteFiles

/// A named `SELECT label, count` whose answer a dry run reports before and
/// after (for the deployer: VMs per network). Lets the report speak of the
/// data without the framework knowing what the data is. A NULL or empty
/// label is reported as "(none)"; rows with the same label are summed.
public struct Breakdown: Sendable {
    public let title: String
    public let sql: String
    public init(title: String, sql: String) { self.title = title; self.sql = sql }
}

/// What a dry run found: the plan, what happened on the copy, the verdict.
public struct DryRunReport: Sendable, Codable {
    public struct Failure: Sendable, Codable {
        public let kind: MigrationError.Kind
        public let message: String
        public let verification: VerificationRecord?
        /// The error itself, with its code and context (not part of the JSON report).
        public let error: MigrationError?

        package init(_ error: MigrationError) {
            kind = error.kind
            message = error.message
            verification = error.verification
            self.error = error
        }

        private enum CodingKeys: String, CodingKey { case kind, message, verification }

        public init(from decoder: any Decoder) throws {
            let container = try decoder.container(keyedBy: CodingKeys.self)
            kind = try container.decode(MigrationError.Kind.self, forKey: .kind)
            message = try container.decode(String.self, forKey: .message)
            verification = try container.decodeIfPresent(VerificationRecord.self, forKey: .verification)
            error = nil
        }
    }

    public struct BreakdownResult: Sendable, Codable {
        public let title: String
        public let before: [String: Int]?
        public let after: [String: Int]?
    }

    public let path: String
    public let statusBefore: DatabaseStatus
    public let plan: MigrationPlan
    public let copySeconds: Double
    public let copyBytes: Int64
    /// Where the migrated copy was kept (`--keep-copy`), if anywhere.
    public let keptCopy: String?
    public let run: MigrationRunReport?
    public let failure: Failure?
    public let schemaChanges: SchemaDifference
    public let breakdowns: [BreakdownResult]
    public let freePagesAfter: Int?

    public var wouldSucceed: Bool { failure == nil }
}

extension Migrator {
    /// Applies the pending migrations to an online copy of `path` (SQLite's
    /// backup API, one read transaction, so the deployer keeps writing) and
    /// reports. The live file is opened read-only and never written.
    ///
    /// - Throws: ``MigrationError`` only when the copy cannot be made (`noSuchDatabase`, `notADatabase`, `outOfSpace`, `locked`); a migration that fails on the copy is reported in the ``DryRunReport``'s `failure`, not thrown.
    public func dryRun(path: String, options: MigrationOptions, keepCopy: String? = nil,
                       breakdowns: [Breakdown] = []) throws -> DryRunReport {
        return try MigrationError.translatingFileErrors(path: path, doing: "the dry run") {
            let source = try DatabaseFile.open(path, access: .readOnly, busyTimeout: options.busyTimeout)
            let status = try source.read { try inspect($0, path: path) }
            try status.requireConsistentHistory()

            let folder: String?
            let copyPath: String
            if let keepCopy {
                folder = nil
                copyPath = keepCopy
            } else {
                let made: String
                do {
                    made = try PrivateDirectory.make(configuration.temporaryFolderPrefix + "dry-run")
                } catch let error as PrivateDirectory.Failure {
                    throw MigrationError(.noTemporaryFolder, "cannot create a temporary folder for the copy in \(error.parent) (\(error.reason)); nothing was changed. Set TMPDIR to a writable folder with room for a copy")
                }
                folder = made
                copyPath = (made as NSString).appendingPathComponent((path as NSString).lastPathComponent)
            }
            defer { if let folder { try? FileManager.default.removeItem(atPath: folder) } }

            // An index needing a collation of the deployer's app fails the copy's quick_check
            // as it fails the migration: refused by name before the copy, as plan and migrate do.
            let pending = catalog.scripts.filter { $0.version > status.currentVersion && $0.version <= (options.targetVersion ?? catalog.latestVersion) }
            do {
                _ = try rehearsalClone(of: source, scripts: pending)
            } catch var error as MigrationError {
                error.path = path
                throw error
            }
            let copy = try BackupService.copy(source, sourcePath: path, to: copyPath, progress: options.progress)
            try? source.close()
            var failure: DryRunReport.Failure?
            func fail(_ error: MigrationError) {
                failure = .init(error.replacingPath(copyPath, with: path))
            }
            // A problem the plan's preflight finds is the dry run's finding: it goes in
            // the full report (a ticket is never empty), with the failure's exit code.
            var plan = MigrationPlan(path: copyPath, fromVersion: status.currentVersion, toVersion: status.currentVersion,
                                     baselinedVersion: nil, parameters: [], migrations: [])
            do {
                plan = try self.plan(path: copyPath, to: options.targetVersion, parameters: options.parameters)
            } catch let error as MigrationError {
                fail(error)
            }
            let before = try countBreakdowns(copyPath, breakdowns)
            let schemaBefore = try DatabaseFile.open(copyPath, access: .readOnly).read { try readSchema($0) }

            var copyOptions = options
            copyOptions.takesBackup = false
            copyOptions.preflightDone = true   // migrate runs below only if the plan, preflight included, passed
            copyOptions.online?.drain = .now   // the copy is measured and compared whole, the drain included
            var run: MigrationRunReport?
            if failure == nil {
                do {
                    run = try migrate(path: copyPath, options: copyOptions)
                } catch let error as MigrationError {
                    fail(error)
                }
            }
            try? FileManager.default.removeItem(atPath: copyPath + configuration.lockFileSuffix)
            let after = try countBreakdowns(copyPath, breakdowns)
            let copyQueue = try DatabaseFile.open(copyPath, access: .readOnly)
            let (schemaAfter, freePages) = try copyQueue.read { db in
                (try readSchema(db), try Int.fetchOne(db, sql: "PRAGMA freelist_count"))
            }
            try? copyQueue.close()
            return DryRunReport(
                path: path, statusBefore: status, plan: plan, copySeconds: copy.seconds, copyBytes: copy.bytes,
                keptCopy: keepCopy, run: run, failure: failure, schemaChanges: schemaBefore.difference(to: schemaAfter),
                breakdowns: breakdowns.indices.map { .init(title: breakdowns[$0].title, before: before[$0], after: after[$0]) },
                freePagesAfter: freePages)
        }
    }

    private func countBreakdowns(_ path: String, _ breakdowns: [Breakdown]) throws -> [[String: Int]?] {
        guard !breakdowns.isEmpty else { return [] }
        let queue = try DatabaseFile.open(path, access: .readOnly)
        defer { try? queue.close() }
        return try queue.read { db in
            breakdowns.map { breakdown in
                guard let rows = try? Row.fetchAll(db, sql: breakdown.sql) else { return nil }
                var result: [String: Int] = [:]
                for row in rows {
                    let key = (row[0] as String?).flatMap { $0.isEmpty ? nil : $0 } ?? "(none)"   // NULL and '' alike
                    result[key, default: 0] += (row[1] as Int?) ?? 0
                }
                return result
            }
        }
    }
}
