import GRDB

/// The rehearsal: the pending migrations run first on an in-memory copy of the schema,
/// with no rows, before anything touches the file. What an operator added (indexes,
/// triggers, views, tables) meets the new schema there: an object that makes the
/// migration fail, or that the migration leaves unable to work, is refused by name
/// (exit 65) while the file is still as it was.
extension Migrator {
    /// Runs `scripts` on a schema-only copy of `source`; after each one, fires every
    /// trigger and reads every view (each inside a savepoint, rolled back). Returns the
    /// statements each migration ran, for the plan, and the objects not rehearsed, with why.
    ///
    /// An object this SQLite cannot create on the copy (a collation of the deployer's app,
    /// a virtual table's module this build lacks) is not rehearsed, and said so, when it is
    /// a table the migrations leave alone: SQLite reads such a table's columns without the
    /// collation and never loads the module while a migration rebuilds others. Any other
    /// (an index or view that uses the collation, a trigger, a table a migration rebuilds)
    /// is refused by name: rebuilding a table makes SQLite re-read every index, view and
    /// trigger of the schema, and the migration would fail on it.
    ///
    /// - Throws: ``MigrationError`` `schemaConflict` naming the object (an index, trigger,
    ///   view or table of the operator's) and what to do; the file is not written.
    func rehearse(_ source: DatabaseQueue, status: DatabaseStatus, scripts: [MigrationScript],
                  parameters: MigrationParameters) throws -> (entries: [MigrationPlan.Entry], notRehearsed: [String]) {
        guard !scripts.isEmpty else { return ([], []) }
        let prefix = configuration.bookkeepingPrefix
        let (clone, notRehearsed) = try rehearsalClone(of: source, scripts: scripts)
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
        return (entries, notRehearsed)
    }

    /// The schema-only copy the rehearsal runs on, and the tables left out of it, each with
    /// why (see ``rehearse(_:status:scripts:parameters:)``).
    ///
    /// - Throws: ``MigrationError`` `schemaConflict` naming an object this SQLite cannot
    ///   create that the migrations would meet.
    func rehearsalClone(of source: DatabaseQueue, scripts: [MigrationScript]) throws -> (DatabaseQueue, [String]) {
        guard let first = scripts.first else { return (try schemaClone(of: source), []) }
        let rebuilt = Set(scripts.flatMap { $0.definition.recreations.map { $0.table.lowercased() } })
        var notRehearsed: [String] = []
        var skippedTables: [String: String] = [:]   // why, by lowercased name
        let clone = try schemaClone(of: source) { object, error in
            // An index or trigger on a table left out fails for the table's reason.
            let why = skippedTables[object.table.lowercased()] ?? error.message ?? "\(error.resultCode)"
            guard object.type == "table", !rebuilt.contains(object.name.lowercased()) else {
                throw Self.notRecreatable(object, why: why, script: first)
            }
            skippedTables[object.name.lowercased()] = why
            notRehearsed.append("your table \(object.name) was not rehearsed: this SQLite cannot create it on a copy (\(why)), as it needs something of your application's; the migrations leave it alone, so they can run with it")
        }
        return (clone, notRehearsed)
    }

    /// An object of the operator's this SQLite cannot create, which the migration would meet.
    private static func notRecreatable(_ object: SchemaObject, why: String, script: MigrationScript) -> MigrationError {
        MigrationError(.schemaConflict, """
            migration \(script.version) (\(script.name)) cannot run with your \(object.type) \(object.name): this SQLite \
            cannot read it (\(why)), as it needs a collation or module your application registers, and rebuilding a \
            table makes SQLite read every index, view and trigger of the schema again, so the migration would fail on \
            it. The migrator never drops or rewrites an object of yours. Drop it (DROP \(object.type.uppercased()) \
            \(object.name.quotedIdentifier)) from a connection that has the collation or module, migrate, then create it \
            again; then run the migration again. Nothing was changed
            """, version: script.version, object: object.name)
    }

    /// A failure the schema alone causes: on a copy without rows, only the schema can fail a migration.
    private static func isSchemaFailure(_ error: MigrationError) -> Bool {
        [.failedVerification, .dataConflict, .unexpectedSQLiteError].contains(error.code)
    }

    /// The refusal for a migration that failed on the schema copy: the operator's objects
    /// without which it passes, found by taking each away in turn, then (when no single one
    /// explains it, as Prisma's unique index on vm_id with a table referencing vm_id) all of
    /// them, narrowed to those needed; the error as it was when none explains it.
    private func refusal(_ error: MigrationError, source: DatabaseQueue, status: DatabaseStatus, earlier: [MigrationScript],
                         script: MigrationScript, parameters: MigrationParameters) throws -> MigrationError {
        // An object the migration itself lost is the migration's failure, whatever the schema.
        let located = error.inContext(path: status.path, version: script.version)
        guard error.verification?.lostObjects.isEmpty ?? true else { return located }
        let reason = error.verification.map { $0.failures.joined(separator: "; ") } ?? error.message
        if let name = error.object, let object = try source.read({ try readSchema($0) }).object(named: name) {
            return Self.conflict([object], script: script, reason: reason)
        }
        let ours = try referenceDatabase(version: script.version - 1).read { try readSchema($0).namedObjects }
        let theirs = try source.read { try readSchema($0) }.objects.filter { object in
            object.sql != nil && ours[object.name.lowercased()] == nil && ["index", "trigger", "view", "table"].contains(object.type)
        }
        let passes = { (dropped: [SchemaObject]) throws -> Bool in
            try self.passes(script, without: dropped, source: source, status: status, earlier: earlier, parameters: parameters)
        }
        for candidate in theirs {
            if try passes([candidate]) { return Self.conflict([candidate], script: script, reason: reason) }
        }
        guard theirs.count > 1, try passes(theirs) else { return located }
        // Every object is needed unless the migration passes with it kept and the other needed ones taken away.
        var needed = theirs
        for candidate in theirs where needed.count > 1 {
            let others = needed.filter { $0.name.lowercased() != candidate.name.lowercased() || $0.type != candidate.type }
            if try passes(others) { needed = others }
        }
        return Self.conflict(needed, script: script, reason: reason)
    }

    /// Whether `script` passes on a schema-only copy of `source` brought to the version before
    /// it (the `earlier` pending scripts applied) with the objects `dropped` taken away.
    private func passes(_ script: MigrationScript, without dropped: [SchemaObject], source: DatabaseQueue, status: DatabaseStatus,
                        earlier: [MigrationScript], parameters: MigrationParameters) throws -> Bool {
        let clone = try schemaClone(of: source) { _, _ in }   // what the rehearsal could not create, it left out too
        return try clone.writeWithoutTransaction { db -> Bool in
            var baseline = status.isManaged ? nil : Optional(status.currentVersion)
            for earlier in earlier {
                _ = try apply(db, script: earlier, parameters: parameters, level: .counts, baseline: baseline,
                              backupSHA256: nil, log: nil, progress: nil, checkParameters: false)
                baseline = nil
            }
            // A table dropped before takes its indexes and triggers with it.
            for object in dropped where try Self.exists(object, in: db) {
                try db.execute(sql: "DROP \(object.type.uppercased()) \(object.name.quotedIdentifier)")
            }
            do {
                _ = try apply(db, script: script, parameters: parameters, level: .full, baseline: baseline,
                              backupSHA256: nil, log: nil, progress: nil, checkParameters: false)
                return true
            } catch let error as MigrationError where Self.isSchemaFailure(error) {
                return false
            }
        }
    }

    /// The operator's objects (one, or several needed together) the migration cannot run with.
    private static func conflict(_ objects: [SchemaObject], script: MigrationScript, reason: String) -> MigrationError {
        let named = objects.map { object in
            "your \(object.type) \(object.name)\(object.type == "table" || object.type == "view" ? "" : " (on \(object.table))")"
        }
        let whatToDo = objects.map { Self.advice(for: $0, script: script) }
        let together = objects.count == 1
            ? "it fails with it (\(reason)) and passes without it"
            : "it fails with them (\(reason)), also without any one of them, and passes without them all"
        return MigrationError(.schemaConflict, """
            migration \(script.version) (\(script.name)) cannot run with \(named.joined(separator: " and ")): on a copy of this \
            schema without rows, \(together). The migrator never drops or rewrites an object of yours. \
            \(whatToDo.joined(separator: " ")) Then run the migration again. Nothing was changed
            """, version: script.version, object: objects.first?.name)
    }

    /// What the operator can do with `object`, in a sentence naming it.
    private static func advice(for object: SchemaObject, script: MigrationScript) -> String {
        let isUnique = object.type == "index" && (object.sql.map { SchemaObject.normalized($0).hasPrefix("create unique") } ?? false)
        let name = object.name.quotedIdentifier
        if isUnique {
            return "The index \(object.name) keeps unique a set of columns that migration \(script.version) makes unique only together with others (the new identity), so the rows the new schema must take are refused: drop it (DROP INDEX \(name)), migrate, then create it again over the new identity's columns if you still want it."
        }
        if object.type == "table" {
            // Never DROP TABLE: that loses the operator's rows.
            return "Rewrite the table \(object.name)'s foreign key (or constraint) for the schema of version \(script.version), keeping its rows, with SQLite's 12-step table rebuild (https://www.sqlite.org/lang_altertable.html#otheralter): create the table as it should be under a new name, copy the rows into it, drop the old table and rename the new one, in one transaction."
        }
        return "Drop the \(object.type) \(object.name) (DROP \(object.type.uppercased()) \(name)) or rewrite it for the schema of version \(script.version), migrate, then create it again."
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
