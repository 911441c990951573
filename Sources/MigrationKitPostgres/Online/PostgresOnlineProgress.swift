import MigrationKit
import PostgresNIO
import SQLiteFiles

/// Which steps of a version an online run has done: one row per step, written in the
/// transaction that did it (a backfill batch's row says the last key done), so a run killed
/// anywhere leaves the truth, and the next run, online or offline, resumes at the first
/// step not done. The rows go in the transaction that writes the version's history row.
/// Only `CREATE INDEX CONCURRENTLY` runs outside a transaction: the catalog says what it left.
struct PostgresOnlineProgress {
    struct Entry: Equatable {
        let phase: String
        let keyDone: Int64?
    }

    /// Beside the history, under the bookkeeping prefix (no census counts it).
    let table: String

    init(_ configuration: MigratorConfiguration) { table = configuration.historyTable + "_online" }

    func create(_ session: PostgresSession) async throws {
        try await session.execute("""
            CREATE TABLE IF NOT EXISTS \(PostgresIdentifier.quoted(table)) (
                version    integer NOT NULL,
                checksum   text NOT NULL,
                step       integer NOT NULL,
                phase      text NOT NULL CHECK (phase IN ('added', 'batch', 'done')),
                key_done   bigint,
                updated_at text NOT NULL,
                PRIMARY KEY (version, step)
            )
            """)
    }

    /// The steps recorded for `script`; an interrupted run of another text of it is refused.
    func read(_ script: MigrationScript, _ session: PostgresSession) async throws -> [Int: Entry] {
        guard try await exists(session) else { return [:] }
        var bindings = PostgresBindings()
        bindings.append(script.version)
        var entries: [Int: Entry] = [:]
        for try await (step, checksum, phase, keyDone) in try await session.rows(PostgresQuery(unsafeSQL: """
            SELECT step, checksum, phase, key_done FROM \(PostgresIdentifier.quoted(table)) WHERE version = $1
            """, binds: bindings)).decode((Int, String, String, Int64?).self) {
            guard checksum == script.checksum else {
                throw MigrationError(.inconsistentHistory, "\(session.location): an interrupted online run of migration \(script.version) (\(script.name)) was made with a file whose checksum is \(checksum.prefix(12)), and this tool ships \(script.checksum.prefix(12)): finish it with the tool that started it. Nothing was changed", version: script.version)
            }
            entries[step] = Entry(phase: phase, keyDone: keyDone)
        }
        return entries
    }

    /// Records a step's phase, in the caller's transaction.
    func save(_ script: MigrationScript, step: Int, phase: String, keyDone: Int64? = nil, _ session: PostgresSession) async throws {
        var bindings = PostgresBindings()
        bindings.append(script.version)
        bindings.append(script.checksum)
        bindings.append(step)
        bindings.append(phase)
        bindings.append(keyDone)
        bindings.append(UTCTimestamp.now())
        try await session.run(PostgresQuery(unsafeSQL: """
            INSERT INTO \(PostgresIdentifier.quoted(table)) (version, checksum, step, phase, key_done, updated_at)
            VALUES ($1, $2, $3, $4, $5, $6)
            ON CONFLICT (version, step) DO UPDATE SET phase = excluded.phase, key_done = excluded.key_done, updated_at = excluded.updated_at
            """, binds: bindings))
    }

    /// The version is recorded: its steps are history.
    func clear(_ version: Int, _ session: PostgresSession) async throws {
        var bindings = PostgresBindings()
        bindings.append(version)
        try await session.run(PostgresQuery(unsafeSQL: "DELETE FROM \(PostgresIdentifier.quoted(table)) WHERE version = $1", binds: bindings))
    }

    /// An online run of `script` was started and not finished: steps recorded, or an index
    /// one of its `concurrently` steps builds is there (valid or left INVALID by a kill).
    func isUnderway(_ script: MigrationScript, _ session: PostgresSession) async throws -> Bool {
        guard !script.definition.onlineDirectives.isEmpty else { return false }
        if try await !read(script, session).isEmpty { return true }
        let indexes = try PostgresOnlineStep.steps(of: script).compactMap { step -> String? in
            if case .concurrently(let index) = step.kind { return index }
            return nil
        }
        var bindings = PostgresBindings()
        bindings.append(indexes)
        return try await session.values(PostgresQuery(unsafeSQL: """
            SELECT count(*) FROM pg_class WHERE relname = ANY($1) AND relnamespace = current_schema()::regnamespace
            """, binds: bindings), as: Int64.self).first ?? 0 > 0
    }

    private func exists(_ session: PostgresSession) async throws -> Bool {
        var bindings = PostgresBindings()
        bindings.append(PostgresIdentifier.quoted(table))
        return try await session.values(PostgresQuery(unsafeSQL: "SELECT to_regclass($1) IS NOT NULL", binds: bindings), as: Bool.self).first == true
    }
}
