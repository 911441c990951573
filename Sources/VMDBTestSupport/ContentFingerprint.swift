import Foundation
import GRDB

/// What a database holds, independent of its file bytes: row counts and an
/// ordered hash of every row of the v2 columns of `vms` and `vm_events`.
///
/// The columns are the ones every version from v2 on keeps unchanged, so the
/// same fingerprint proves "content unchanged" at the old version and "every
/// record preserved" after the migration. A database a crash left with a hot
/// WAL has different bytes but the same content; this compares the content.
/// The hash uses `Hasher`, seeded per process: compare fingerprints taken in
/// the same test process only. It is built from SQLite's `quote()`, not from
/// vmdb's `ContentHasher`, on purpose: the oracle that checks a migration
/// preserved every record must not share the code of the census it checks.
public struct ContentFingerprint: Equatable, Sendable, CustomStringConvertible {
    public struct Table: Equatable, Sendable {
        public let rows: Int
        public let hash: Int
    }

    public let tables: [String: Table]

    /// The columns fingerprinted per table.
    public static let v2Columns: [String: [String]] = [
        "vms": ["id", "vm_id", "network", "name", "node_id", "contract_id", "twin_id", "status", "ipv4", "ipv6",
                "mycelium_ip", "flist", "cpu", "memory_mb", "disk_gb", "installed_version", "available_version",
                "updates_checked_at", "created_at", "updated_at", "metadata"],
        "vm_events": ["id", "vm_id", "kind", "at", "detail"],
    ]

    /// Reads the fingerprint of the database at `path` (opening it as the deployer would).
    /// - Parameter filters: a `WHERE` condition per table, to fingerprint part of it (e.g. the rows a run must not touch).
    public static func of(_ path: String, columns: [String: [String]] = v2Columns, filters: [String: String] = [:]) throws -> ContentFingerprint {
        let queue = try DatabaseQueue(path: path)
        defer { try? queue.close() }
        return try queue.read { db in try of(db, columns: columns, filters: filters) }
    }

    public static func of(_ db: Database, columns: [String: [String]] = v2Columns, filters: [String: String] = [:]) throws -> ContentFingerprint {
        var tables: [String: Table] = [:]
        for (table, names) in columns {
            // quote() spells every value with its type (NULL, 'text', 12, X'..'), so no two rows collide by accident.
            let row = names.map { "quote(\"\($0)\")" }.joined(separator: " || ',' || ")
            // SQLite joins the rows (in id order, from the ordered subquery) in C; Swift hashes the bytes once:
            // ten times faster in a debug build than a String per row.
            let condition = filters[table].map { " WHERE \($0)" } ?? ""
            let count = try Int.fetchOne(db, sql: "SELECT count(*) FROM \"\(table)\"\(condition)") ?? 0
            var hasher = Hasher()
            var text = try String.fetchOne(db, sql: """
                SELECT group_concat(r, char(10)) FROM (SELECT \(row) AS r FROM "\(table)"\(condition) ORDER BY id)
                """) ?? ""
            text.withUTF8 { hasher.combine(bytes: UnsafeRawBufferPointer($0)) }
            tables[table] = Table(rows: count, hash: hasher.finalize())
        }
        return ContentFingerprint(tables: tables)
    }

    public var description: String {
        tables.keys.sorted().map { "\($0): \(tables[$0]!.rows) rows, hash \(String(tables[$0]!.hash, radix: 16))" }.joined(separator: "; ")
    }
}
