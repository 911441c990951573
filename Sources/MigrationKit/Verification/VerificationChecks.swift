import GRDB
import SQLiteFiles

/// The checks a migration's verification makes, written once for the two paths that
/// verify: the offline run (``MigrationRunner``, inside its one transaction) and the
/// online cut-over (`OnlineMigration`, on a snapshot and then under the lock). Each
/// check appends what it found to the record, and any reason not to commit to
/// `record.failures`, in the same words on both paths.
package struct VerificationChecks {
    let definition: MigrationDefinition
    let parameters: MigrationParameters
    package let level: VerificationLevel
    let log: ((String) -> Void)?

    init(definition: MigrationDefinition, parameters: MigrationParameters, level: VerificationLevel, log: ((String) -> Void)?) {
        self.definition = definition
        self.parameters = parameters
        self.level = level
        self.log = log
    }

    /// For an engine with no SQLite statements to run (PostgreSQL's migrator): the comparisons only.
    package init(level: VerificationLevel) {
        self.init(definition: MigrationDefinition(), parameters: MigrationParameters(), level: level, log: nil)
    }

    /// Rows and content of one table, before and after; what `hash` holds depends on the level.
    package struct Census {
        package var rows: Int
        package var hash: String?

        package init(rows: Int, hash: String? = nil) { self.rows = rows; self.hash = hash }
    }

    /// The content hash's expressions at this level (none: counts only).
    func hashed(_ expressions: [String]) -> [String] { level == .counts ? [] : expressions }

    /// Why `table`'s census after differs from before, in words (nil: the same).
    package func difference(_ table: String, columns: [String], before: Census, after: Census) -> String? {
        if before.rows != after.rows {
            return "table \(table): \(before.rows) rows before, \(after.rows) after"
        }
        if level != .counts && before.hash != after.hash {
            return "table \(table): content of columns \(columns.joined(separator: ", ")) changed (hash \(before.hash?.prefix(12) ?? "-") before, \(after.hash?.prefix(12) ?? "-") after)"
        }
        return nil
    }

    /// Records `table`'s census; a failure when it differs.
    package func compare(_ table: String, columns: [String], before: Census, after: Census, into record: inout VerificationRecord) {
        record.tables.append(TableVerification(table: table, columns: columns, rowsBefore: before.rows, rowsAfter: after.rows,
                                               hashBefore: level == .counts ? nil : before.hash, hashAfter: level == .counts ? nil : after.hash))
        if let difference = difference(table, columns: columns, before: before, after: after) {
            record.failures.append(difference)
        }
    }

    /// `quick_check` (`integrity_check` when exhaustive) of `tables` and their indexes,
    /// or of the whole file when `tables` is nil; nothing at the counts level.
    func integrity(_ db: Database, tables: [String]?, into record: inout VerificationRecord) throws {
        guard level != .counts else { return }
        let pragma = level == .exhaustive ? "integrity_check" : "quick_check"
        var problems: [String] = []
        for sql in tables.map({ $0.map { "PRAGMA \(pragma)(\($0.quotedIdentifier))" } }) ?? ["PRAGMA \(pragma)"] {
            log?(sql)
            problems += try String.fetchAll(db, sql: sql).filter { $0 != "ok" }
        }
        record.integrity = problems.isEmpty ? "ok" : problems.prefix(20).joined(separator: "; ")
        if !problems.isEmpty { record.failures.append("\(pragma): \(record.integrity)") }
    }

    /// The violations found, as one failure naming the first (none: nothing).
    func foreignKeyViolations(_ violations: Int, samples: [String], into record: inout VerificationRecord) {
        guard violations > 0 else { return }
        record.failures.append("\(violations) foreign key violation(s), first: \(samples.first ?? "?")")
    }

    /// The migration's declared invariants, each counted.
    func invariants(_ db: Database, note: String = "", into record: inout VerificationRecord) throws {
        for invariant in definition.invariants {
            log?(invariant.sql + note)
            let violations = try db.count(invariant.sql, parameters: parameters)
            record.invariants.append(InvariantResult(description: invariant.description, violations: violations))
            if violations > 0 {
                record.failures.append("invariant \"\(invariant.description)\" broken by \(violations) row(s)")
            }
        }
    }

    /// The migration's probes, each in a savepoint rolled back (they write).
    func probes(_ db: Database, into record: inout VerificationRecord) throws {
        guard !definition.probes.isEmpty else { return }
        record.probes = try definition.probes.map { try MigrationRunner.runProbe(db, $0, parameters: parameters, log: log) }
        for probe in record.probes ?? [] where !probe.passed {
            record.failures.append("probe \"\(probe.description)\" (\(probe.expectation.rawValue)) did not hold: \(probe.outcome)")
        }
    }

    /// Objects present before and absent after that the migration does not declare dropped.
    func lostObjects(before: SchemaSnapshot, after: SchemaSnapshot, into record: inout VerificationRecord) {
        let present = after.namedObjects
        for object in before.objects where object.sql != nil && present[object.name.lowercased()] == nil {
            guard !definition.isDropped(object.type, object.name) else { continue }
            record.lostObjects.append("\(object.type) \(object.name)")
            record.failures.append("\(object.type) \(object.name) existed before and is missing after (not declared dropped)")
        }
    }
}

extension VerificationChecks.Census {
    package init(_ result: ContentHasher.Result) { self.init(rows: result.rows, hash: result.hash) }
}
