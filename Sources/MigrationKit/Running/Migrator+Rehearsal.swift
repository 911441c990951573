import GRDB

/// The rehearsal: the pending migrations run first on an in-memory copy of the schema,
/// with no rows, before anything touches the file. What an operator added (indexes,
/// triggers, views, tables) meets the new schema there: an object that makes the
/// migration fail, or that the migration leaves unable to work, is refused by name
/// (exit 65) while the file is still as it was.
extension Migrator {
    /// Runs `scripts` on a schema-only copy of `source`; after each one, fires every
    /// trigger and reads every view (each inside a savepoint, rolled back). Returns the
    /// statements each migration ran, for the plan.
    ///
    /// - Throws: ``MigrationError`` `schemaConflict` naming the object (an index, trigger,
    ///   view or table of the operator's) and what to do; the file is not written.
    func rehearse(_ source: DatabaseQueue, status: DatabaseStatus, scripts: [MigrationScript],
                  parameters: MigrationParameters) throws -> [MigrationPlan.Entry] {
        guard !scripts.isEmpty else { return [] }
        let prefix = configuration.bookkeepingPrefix
        let clone = try schemaClone(of: source)
        var entries: [MigrationPlan.Entry] = []
        try clone.writeWithoutTransaction { db in
            // Objects that did not work before are not the migration's doing: left alone (verify reports them).
            var broken = Set(try KeptObjectProbe.run(db, objects: KeptObjectProbe.objects(readSchema(db), excludingPrefix: prefix))
                .map { $0.name.lowercased() })
            var baseline = status.isManaged ? nil : Optional(status.currentVersion)
            for (index, script) in scripts.enumerated() {
                let statements = StatementRecorder()
                do {
                    _ = try apply(db, script: script, parameters: parameters, level: .full, baseline: baseline,
                                  backupSHA256: nil, log: statements.record, progress: nil, checkParameters: false)
                } catch let error as MigrationError where Self.isSchemaFailure(error) {
                    throw try refusal(error, source: source, status: status, earlier: Array(scripts[..<index]),
                                      script: script, parameters: parameters)
                }
                baseline = nil
                entries.append(.init(version: script.version, name: script.name, checksum: script.checksum, statements: statements.all))
                let failures = try KeptObjectProbe.run(db, objects: KeptObjectProbe.objects(readSchema(db), excludingPrefix: prefix))
                if let failure = failures.first(where: { !broken.contains($0.name.lowercased()) }) {
                    throw Self.brokenByMigration(failure, script: script)
                }
                broken.formUnion(failures.map { $0.name.lowercased() })
            }
        }
        return entries
    }

    /// A failure the schema alone causes: on a copy without rows, only the schema can fail a migration.
    private static func isSchemaFailure(_ error: MigrationError) -> Bool {
        [.failedVerification, .dataConflict, .unexpectedSQLiteError].contains(error.code)
    }

    /// The refusal for a migration that failed on the schema copy: the operator's object
    /// without which it passes, found by taking each away in turn; the error as it was
    /// when no single object explains it.
    private func refusal(_ error: MigrationError, source: DatabaseQueue, status: DatabaseStatus, earlier: [MigrationScript],
                         script: MigrationScript, parameters: MigrationParameters) throws -> MigrationError {
        // An object the migration itself lost is the migration's failure, whatever the schema.
        let located = error.inContext(path: status.path, version: script.version)
        guard error.verification?.lostObjects.isEmpty ?? true else { return located }
        let reason = error.verification.map { $0.failures.joined(separator: "; ") } ?? error.message
        if let name = error.object, let object = try source.read({ try readSchema($0) }).object(named: name) {
            return Self.conflict(object, script: script, reason: reason)
        }
        let ours = try referenceDatabase(version: script.version - 1).read { try readSchema($0).namedObjects }
        let theirs = try source.read { try readSchema($0) }.objects.filter { object in
            object.sql != nil && ours[object.name.lowercased()] == nil && ["index", "trigger", "view", "table"].contains(object.type)
        }
        for candidate in theirs {
            let clone = try schemaClone(of: source)
            let passes = try clone.writeWithoutTransaction { db -> Bool in
                var baseline = status.isManaged ? nil : Optional(status.currentVersion)
                for earlier in earlier {
                    _ = try apply(db, script: earlier, parameters: parameters, level: .counts, baseline: baseline,
                                  backupSHA256: nil, log: nil, progress: nil, checkParameters: false)
                    baseline = nil
                }
                guard try Self.exists(candidate, in: db) else { return false }
                try db.execute(sql: "DROP \(candidate.type.uppercased()) \(candidate.name.quotedIdentifier)")
                do {
                    _ = try apply(db, script: script, parameters: parameters, level: .full, baseline: baseline,
                                  backupSHA256: nil, log: nil, progress: nil, checkParameters: false)
                    return true
                } catch let error as MigrationError where Self.isSchemaFailure(error) {
                    return false
                }
            }
            if passes { return Self.conflict(candidate, script: script, reason: reason) }
        }
        return located
    }

    /// An operator's object the migration cannot run with.
    private static func conflict(_ object: SchemaObject, script: MigrationScript, reason: String) -> MigrationError {
        let isUnique = object.type == "index" && (object.sql.map { SchemaObject.normalized($0).hasPrefix("create unique") } ?? false)
        let what = isUnique
            ? "It keeps unique a set of columns that migration \(script.version) makes unique only together with others (the new identity), so the rows the new schema must take are refused. Drop it (DROP INDEX \(object.name.quotedIdentifier)), migrate, then create it again over the new identity's columns if you still want it"
            : "Drop it (DROP \(object.type.uppercased()) \(object.name.quotedIdentifier)) or rewrite it for the schema of version \(script.version), migrate, then create it again"
        return MigrationError(.schemaConflict, """
            migration \(script.version) (\(script.name)) cannot run with your \(object.type) \(object.name)\
            \(object.type == "table" || object.type == "view" ? "" : " (on \(object.table))"): on a copy of this schema \
            without rows, it fails with it (\(reason)) and passes without it. The migrator never drops or rewrites an \
            object of yours. \(what), then run the migration again. Nothing was changed
            """, version: script.version, object: object.name)
    }

    /// A trigger or view that works before a migration and not after it.
    private static func brokenByMigration(_ failure: KeptObjectProbe.Failure, script: MigrationScript) -> MigrationError {
        MigrationError(.schemaConflict, """
            after migration \(script.version) (\(script.name)), your \(failure.type) \(failure.name) would no longer work: \
            \(failure.type == "view" ? "reading it" : "firing it on a probe row") on a copy of the migrated schema fails \
            with `\(failure.reason)`. The migrator keeps your objects as you wrote them and never rewrites one, so every \
            write that fires it would fail after the migration. Rewrite it so that it works on the schema of version \
            \(script.version) (for a table the migration changes, name every column it now requires), or drop it \
            (DROP \(failure.type.uppercased()) \(failure.name.quotedIdentifier)) and create it again after migrating; \
            then run the migration again. Nothing was changed
            """, version: script.version, object: failure.name)
    }

    /// Whether `object` is still in the schema (a table dropped before takes its indexes and triggers with it).
    private static func exists(_ object: SchemaObject, in db: Database) throws -> Bool {
        try Bool.fetchOne(db, sql: "SELECT count(*) > 0 FROM sqlite_master WHERE name = ? COLLATE NOCASE AND type = ?",
                          arguments: [object.name, object.type]) ?? false
    }
}
