/// Which schema versions a store of this build reads and writes, from what the database's migration
/// history says: the same rule on every engine, each engine reading its own history table.
///
/// The promise is read from the database, not from a catalog this build would
/// ship: a store built for v3 cannot know v4's migration, so v4 says so itself
/// in its history row (MigrationKit records `--! keeps-store-compatible-from: N`
/// in the column `store_compatible_from`). This is the expand phase of an
/// expand/contract change (pgroll): v4 only adds, so v3's reads and writes,
/// which name their columns, work unchanged; a contract step that drops or
/// changes what v3 uses makes no such promise, and v3 refuses it.
package enum StoreCompatibility {
    /// One history row after the store's version, as far as the promise goes.
    package struct LaterMigration: Sendable {
        package enum Promise: Sendable {
            /// NULL, or no such column: it promises nothing.
            case none
            case from(Int)
            /// A value that is not an integer.
            case unreadable
        }

        package var version: Int
        package var name: String
        package var promise: Promise

        package init(version: Int, name: String, promise: Promise) {
            self.version = version
            self.name = name
            self.promise = promise
        }
    }

    /// Refuses any version this store cannot read and write: below ``VMStore/supportedVersions``, or
    /// above ``VMStore/schemaVersion`` unless every migration since declared that it keeps a store of
    /// this version working.
    ///
    /// - Parameter laterMigrations: the history rows above ``VMStore/schemaVersion``, in version order
    ///   (read only when `version` is above it).
    package static func check(_ version: Int, location: String, laterMigrations: () throws -> [LaterMigration]) throws {
        if version < VMStore.supportedVersions.lowerBound {
            throw StoreError(.schemaTooOld(path: location, found: version, expected: VMStore.schemaVersion))
        }
        if version > VMStore.schemaVersion,
           let refusal = refusal(try laterMigrations(), above: VMStore.schemaVersion, upTo: version) {
            throw StoreError(.databaseNewer(path: location, found: version, expected: VMStore.schemaVersion, refusal: refusal))
        }
    }

    /// The first migration after `version` that does not keep a store of that
    /// version working, said in words, or nil when every one does.
    static func refusal(_ rows: [LaterMigration], above version: Int, upTo latest: Int) -> String? {
        var expected = version + 1
        for row in rows {
            guard row.version == expected else {
                return "its history has no migration \(expected), so what the later ones promise cannot be trusted"
            }
            expected += 1
            switch row.promise {
            case .from(let from) where from <= version:
                continue
            case .from(let from):
                return "migration \(row.version) (\(row.name)) keeps stores working only from version \(from)"
            case .none:
                return "migration \(row.version) (\(row.name)) does not declare that it keeps a version \(version) store working"
            case .unreadable:
                return "migration \(row.version) (\(row.name)) records an unreadable compatibility promise"
            }
        }
        return expected == latest + 1 ? nil : "its history has no migration \(expected)"
    }
}
