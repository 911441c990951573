import MigrationKit

/// Every difference between an expected and an actual result, one readable line
/// (or a few) each, naming the table, object or migration and the numbers.
enum SnapshotDiff {
    static func differences(expected: SnapshotResult, actual: SnapshotResult) -> [String] {
        var out: [String] = []
        if expected.version != actual.version {
            out.append("schema version: expected \(expected.version), found \(actual.version)")
        }
        if expected.baselinedVersion != actual.baselinedVersion {
            out.append("baseline: expected \(describe(expected.baselinedVersion)), found \(describe(actual.baselinedVersion))")
        }
        if expected.history != actual.history {
            out.append("history: expected \(expected.history.map(describe).joined(separator: ", ")), found \(actual.history.map(describe).joined(separator: ", "))")
        }
        out += tables(expected.tables, actual.tables)
        out += schema(expected.schema, actual.schema)
        out += listed("operator addition", expected.operatorAdditions, actual.operatorAdditions)
        out += migrations(expected.migrations, actual.migrations)
        return out
    }

    private static func tables(_ expected: [String: SnapshotResult.Table], _ actual: [String: SnapshotResult.Table]) -> [String] {
        var out: [String] = []
        for name in Set(expected.keys).union(actual.keys).sorted() {
            switch (expected[name], actual[name]) {
            case let (e?, nil): out.append("table \(name): missing (expected \(e.rows) rows)")
            case let (nil, a?): out.append("table \(name): not expected (found, \(a.rows) rows)")
            case let (e?, a?):
                if e.rows != a.rows { out.append("table \(name): expected \(e.rows) rows, found \(a.rows)") }
                if e.contentHash != a.contentHash {
                    out.append("table \(name): content differs (hash expected \(e.contentHash.prefix(16))…, found \(a.contentHash.prefix(16))…)")
                }
                let eNet = e.rowsPerNetwork ?? [:], aNet = a.rowsPerNetwork ?? [:]
                if (e.rowsPerNetwork == nil) != (a.rowsPerNetwork == nil) {
                    out.append("table \(name): network column \(e.rowsPerNetwork == nil ? "not expected" : "missing")")
                }
                for network in Set(eNet.keys).union(aNet.keys).sorted() where eNet[network] != aNet[network] {
                    out.append("table \(name), network \(network): expected \(eNet[network] ?? 0) rows, found \(aNet[network] ?? 0)")
                }
            case (nil, nil): break
            }
        }
        return out
    }

    private static func schema(_ expected: [SnapshotResult.SchemaEntry], _ actual: [SnapshotResult.SchemaEntry]) -> [String] {
        func key(_ entry: SnapshotResult.SchemaEntry) -> String { "\(entry.type) \(entry.name.lowercased())" }
        func normalized(_ entry: SnapshotResult.SchemaEntry) -> String? {
            SchemaObject(type: entry.type, name: entry.name, table: entry.table, sql: entry.sql).normalizedSQL
        }
        let e = Dictionary(expected.map { (key($0), $0) }, uniquingKeysWith: { a, _ in a })
        let a = Dictionary(actual.map { (key($0), $0) }, uniquingKeysWith: { a, _ in a })
        var out: [String] = []
        for k in Set(e.keys).union(a.keys).sorted() {
            switch (e[k], a[k]) {
            case let (x?, nil): out.append("schema: \(x.type) \(x.name) is missing; expected: \(x.sql ?? "(automatic)")")
            case let (nil, y?): out.append("schema: \(y.type) \(y.name) is not expected; found: \(y.sql ?? "(automatic)")")
            case let (x?, y?) where normalized(x) != normalized(y) || x.table.lowercased() != y.table.lowercased():
                out.append("schema: \(x.type) \(x.name) differs\n  expected: \(x.sql ?? "(automatic)")\n  found:    \(y.sql ?? "(automatic)")")
            default: break
            }
        }
        return out
    }

    private static func migrations(_ expected: [SnapshotResult.Migration], _ actual: [SnapshotResult.Migration]) -> [String] {
        let e = Dictionary(expected.map { ($0.version, $0) }, uniquingKeysWith: { a, _ in a })
        let a = Dictionary(actual.map { ($0.version, $0) }, uniquingKeysWith: { a, _ in a })
        var out: [String] = []
        for version in Set(e.keys).union(a.keys).sorted() {
            guard let x = e[version] else { out.append("migration \(version): ran, not expected to"); continue }
            guard let y = a[version] else { out.append("migration \(version) (\(x.name)): expected to run, did not"); continue }
            let label = "migration \(version) (\(x.name))"
            for table in Set(x.tables.keys).union(y.tables.keys).sorted() {
                guard let c = x.tables[table] else { out.append("\(label): table \(table) counted, not expected"); continue }
                guard let d = y.tables[table] else { out.append("\(label): table \(table) expected in its census, absent"); continue }
                if c.rowsBefore != d.rowsBefore { out.append("\(label), table \(table): expected \(c.rowsBefore) rows before, found \(d.rowsBefore)") }
                if c.rowsAfter != d.rowsAfter { out.append("\(label), table \(table): expected \(describe(c.rowsAfter)) rows after, found \(describe(d.rowsAfter))") }
                if c.hashBefore != d.hashBefore { out.append("\(label), table \(table): census hash before differs (expected \(c.hashBefore?.prefix(16) ?? "-"), found \(d.hashBefore?.prefix(16) ?? "-"))") }
                if c.hashAfter != d.hashAfter { out.append("\(label), table \(table): census hash after differs (expected \(c.hashAfter?.prefix(16) ?? "-"), found \(d.hashAfter?.prefix(16) ?? "-"))") }
            }
            out += listed("\(label): restored object", x.restoredObjects, y.restoredObjects)
            out += listed("\(label): carried column", x.carriedColumns, y.carriedColumns)
        }
        return out
    }

    /// Set differences of two lists, order ignored.
    private static func listed(_ what: String, _ expected: [String], _ actual: [String]) -> [String] {
        let e = Set(expected), a = Set(actual)
        return e.subtracting(a).sorted().map { "\(what) expected, missing: \($0)" }
            + a.subtracting(e).sorted().map { "\(what) not expected: \($0)" }
    }

    private static func describe(_ value: Int?) -> String { value.map(String.init) ?? "none" }
    private static func describe(_ entry: SnapshotResult.HistoryEntry) -> String { "\(entry.version) \(entry.kind)" }
}
