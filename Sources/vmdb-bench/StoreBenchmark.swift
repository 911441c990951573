import ArgumentParser
import Foundation
import GRDBSQLite
import MigrationKit
import ShippedMigrations
import VMStore

/// Store throughput against the raw SQLite C API (issue 3).
///
/// Both sides work on the same generated VMs, in two databases made by the
/// shipped migrations (v3, WAL, default `synchronous`), and do the same work
/// per operation: the same SQL, every value bound, every column of a looked-up
/// row turned into Swift values. The raw side is the floor: prepared
/// statements kept for the whole run, no wrapper at all.
struct StoreBenchmark: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "store",
        abstract: "Store operations vs prepared statements.",
        discussion: """
            Measures provision (all in one transaction, and one durable transaction each), lookup by \
            (network, vm_id) and lookup by id alone, on the same data. Prints a markdown table with the \
            throughput of each side and the ratio store/raw (1.0 = as fast as the C API).
            """)

    @Option(help: "VMs to provision, spread over the networks.")
    var vms = 100_000

    @Option(help: "Networks (main, test, qa, dev, then net4, net5, …).")
    var networks = 4

    @Option(help: "Lookups per measurement.")
    var lookups = 100_000

    @Option(help: "Provisions measured one durable transaction each (fsync-bound).")
    var durable = 1_000

    @Option(help: "Measurements of each lookup; the best is kept.")
    var rounds = 3

    @Option(help: "Folder for the databases (default: a new temporary folder, removed after).")
    var directory: String?

    @Option(help: "Random seed for the generated ids.")
    var seed: UInt64 = 42

    func run() throws {
        let folder = try directory ?? makeTemporaryFolder()
        defer { if directory == nil { try? FileManager.default.removeItem(atPath: folder) } }
        let migrator = ShippedMigrations.migrator(toolVersion: "bench")
        let storePath = (folder as NSString).appendingPathComponent("store.db")
        let rawPath = (folder as NSString).appendingPathComponent("raw.db")
        for path in [storePath, rawPath] {
            for suffix in ["", "-wal", "-shm"] { try? FileManager.default.removeItem(atPath: path + suffix) }
            try migrator.createDatabase(path: path)
        }

        var generator = SplitMix64(seed: seed)
        let data = try BenchData(vms: vms, networks: networks, durable: durable, lookups: lookups, using: &generator)
        print("store benchmark: \(vms) VMs over \(networks) networks, 4-char base-36 ids (\(data.sharedIDs) ids on more than one network), \(lookups) lookups, SQLite \(String(cString: sqlite3_libversion()))")
        print("folder: \(folder)\n")

        let store = try VMStore(path: storePath)
        let raw = try RawStore(path: rawPath)
        defer {
            try? store.close()
            raw.close()
        }
        var results: [Measurement] = []

        // The machine may be shared: each measurement alternates the two sides
        // (a chunk or a round each in turn) so both see the same conditions.
        let chunkSize = 10_000
        var bulk = (store: Duration.zero, raw: Duration.zero)
        for start in stride(from: 0, to: data.bulk.count, by: chunkSize) {
            let chunk = data.bulk[start..<min(start + chunkSize, data.bulk.count)]
            bulk.store += try elapsed { try store.write { writer in for vm in chunk { try writer.provision(vm) } } }
            bulk.raw += try elapsed { try raw.provisionAll(chunk) }
        }
        results.append(Measurement(name: "provision, in transactions of \(chunkSize)", count: data.bulk.count, store: bulk.store, raw: bulk.raw))

        var durable = (store: Duration.zero, raw: Duration.zero)
        for vm in data.durable {
            durable.store += try elapsed { try store.provision(vm) }
            durable.raw += try elapsed { try raw.provisionAll([vm]) }
        }
        results.append(Measurement(name: "provision, one durable transaction each", count: data.durable.count, store: durable.store, raw: durable.raw))

        results += try readMeasurements(store: store, raw: raw, data: data, rounds: rounds)

        let ambiguous = try data.ambiguousLookups.map { try VMReference(vmID: $0) }
        if !ambiguous.isEmpty {
            results.append(try alternating("lookup by id alone (ambiguous: error naming the networks)", count: ambiguous.count, rounds: rounds, store: {
                for reference in ambiguous {
                    do {
                        _ = try store.vm(reference)
                        throw ValidationError("\(reference) should be ambiguous")
                    } catch let error as StoreError where error.code == .ambiguous {}
                }
            }, raw: {
                for id in data.ambiguousLookups {
                    guard try raw.vms(withID: id).count > 1 else { throw ValidationError("\(id) should be on several networks") }
                }
            }))
        }

        // For scale: the same id-only lookup written naively (a full table scan).
        let naiveCount = min(200, data.idLookups.count)
        let naive = try elapsed {
            for id in data.idLookups.prefix(naiveCount) { _ = try raw.vmsByFullScan(withID: id) }
        }

        print("| operation | store (ops/s) | raw C API (ops/s) | store / raw |")
        print("|---|---:|---:|---:|")
        for result in results {
            print(String(format: "| %@ | %.0f | %.0f | %.2f |", result.name, result.storeRate, result.rawRate, result.ratio))
        }
        print(String(format: "\nfor scale: lookup by id alone as `WHERE vm_id = ?` (full scan, raw C API): %.0f ops/s", Double(naiveCount) / naive.seconds))
    }

    struct Measurement {
        let name: String
        let count: Int
        let store: Duration
        let raw: Duration

        var storeRate: Double { Double(count) / store.seconds }
        var rawRate: Double { Double(count) / raw.seconds }
        /// Store throughput over raw throughput: 1.0 is as fast as the C API.
        var ratio: Double { raw.seconds / store.seconds }
    }

    private func makeTemporaryFolder() throws -> String {
        let template = (NSTemporaryDirectory() as NSString).appendingPathComponent("vmdb-bench.XXXXXX")
        var buffer = Array(template.utf8CString)
        guard let made = mkdtemp(&buffer) else { throw ValidationError("cannot create a temporary folder") }
        return String(cString: made)
    }
}

// MARK: Data

/// The VMs and the lookups, generated once and used by both sides.
struct BenchData {
    let bulk: [NewVM]
    let durable: [NewVM]
    let pairLookups: [VMIdentity]
    let idLookups: [String]
    let ambiguousLookups: [String]
    let sharedIDs: Int

    init(vms: Int, networks: Int, durable: Int, lookups: Int, using generator: inout SplitMix64) throws {
        let names = ["main", "test", "qa", "dev"] + (4..<max(4, networks)).map { "net\($0)" }
        let networkNames = Array(names.prefix(networks))
        let space = 36 * 36 * 36 * 36
        let perNetwork = (vms + durable + networks - 1) / networks
        guard perNetwork <= space else { throw ValidationError("more VMs per network than 4-char base-36 ids") }
        var all: [NewVM] = []
        var networksByID: [String: Int] = [:]
        for (index, network) in networkNames.enumerated() {
            // Each daemon hands out ids from its own counter: distinct on one network,
            // colliding across networks by chance, as on the grid.
            var used = Set<Int>()
            while used.count < perNetwork { used.insert(Int(generator.next() % UInt64(space))) }
            for number in used {
                var id = String(number, radix: 36)
                id = String(repeating: "0", count: 4 - id.count) + id
                networksByID[id, default: 0] += 1
                let n = Int64(number)
                all.append(NewVM(
                    identity: try VMIdentity(network: network, vmID: id), name: "vm-\(network)-\(id)", nodeID: 10 + n % 500,
                    contractID: 100_000 + n, twinID: 4000 + Int64(index), status: .running, ipv4: "185.69.\(n % 256).\(n / 256 % 256)/24",
                    myceliumIP: "4a3:77f2:1e2b:9c01:5d2e:81aa:2f10:\(String(n, radix: 16))",
                    flist: "https://hub.grid.tf/tf-official-vms/ubuntu-24.04-full.flist", cpu: 2, memoryMB: 4096, diskGB: 50,
                    installedVersion: "1.4.2", metadata: #"{"tags":["web"],"n":\#(n)}"#))
            }
        }
        all.shuffle(using: &generator)
        let total = min(all.count, vms + durable)
        bulk = Array(all.prefix(total - durable))
        self.durable = Array(all[(total - durable)..<total])
        let stored = bulk + self.durable
        pairLookups = (0..<lookups).map { _ in stored[Int(generator.next() % UInt64(stored.count))].identity }
        let unique = stored.filter { networksByID[$0.identity.vmID] == 1 }.map(\.identity.vmID)
        idLookups = (0..<lookups).map { _ in unique[Int(generator.next() % UInt64(unique.count))] }
        let shared = Array(Set(stored.filter { networksByID[$0.identity.vmID, default: 0] > 1 }.map(\.identity.vmID))).sorted()
        sharedIDs = shared.count
        ambiguousLookups = shared.isEmpty ? [] : (0..<min(lookups, 20_000)).map { _ in shared[Int(generator.next() % UInt64(shared.count))] }
    }
}

/// A small, seeded generator (Steele, Lea, Flood: SplitMix64), for repeatable data.
struct SplitMix64: RandomNumberGenerator {
    private var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

// MARK: The floor: the SQLite C API with prepared statements

/// The same operations as the store, written directly on the C API: one
/// connection, statements prepared once, values bound and columns read by index.
final class RawStore {
    /// A row turned into Swift values, as the store's `VMRecord` is.
    struct Row {
        var rowID: Int64, network: String, vmID: String, name: String
        var nodeID: Int64?, contractID: Int64?, twinID: Int64?, status: String
        var ipv4: String?, ipv6: String?, myceliumIP: String?, flist: String?
        var cpu: Int64?, memoryMB: Int64?, diskGB: Int64?
        var installedVersion: String?, availableVersion: String?, updatesCheckedAt: String?
        var createdAt: String, updatedAt: String, metadata: String?, origin: String
    }

    private static let columns = """
        id, network, vm_id, name, node_id, contract_id, twin_id, status, ipv4, ipv6, mycelium_ip, flist, \
        cpu, memory_mb, disk_gb, installed_version, available_version, updates_checked_at, created_at, \
        updated_at, metadata, origin
        """
    private static let prefixedColumns = columns.split(separator: ",")
        .map { "vms." + $0.trimmingCharacters(in: .whitespacesAndNewlines) }.joined(separator: ", ")

    private var db: OpaquePointer?
    private let insert: OpaquePointer
    private let selectPair: OpaquePointer
    private let selectByID: OpaquePointer
    private let selectFullScan: OpaquePointer
    private let begin: OpaquePointer
    private let commit: OpaquePointer
    /// sqlite3.h's SQLITE_TRANSIENT (the C macro does not import): SQLite copies the value.
    private let transient = unsafeBitCast(-1, to: sqlite3_destructor_type.self)

    init(path: String) throws {
        guard sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE, nil) == SQLITE_OK, let db else {
            throw ValidationError("cannot open \(path)")
        }
        sqlite3_busy_timeout(db, 5_000)
        func prepare(_ sql: String) throws -> OpaquePointer {
            var statement: OpaquePointer?
            guard sqlite3_prepare_v3(db, sql, -1, UInt32(SQLITE_PREPARE_PERSISTENT), &statement, nil) == SQLITE_OK, let statement else {
                throw ValidationError("prepare failed: \(String(cString: sqlite3_errmsg(db)))")
            }
            return statement
        }
        // The same SQL as the store's (VMQueries), so the comparison is of the code around it.
        insert = try prepare("""
            INSERT INTO vms (network, vm_id, name, node_id, contract_id, twin_id, status, ipv4, ipv6, mycelium_ip, flist,
                             cpu, memory_mb, disk_gb, installed_version, created_at, updated_at, metadata, origin)
            VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
            """)
        selectPair = try prepare("SELECT \(Self.columns) FROM vms WHERE network = ? AND vm_id = ?")
        selectByID = try prepare("""
            WITH RECURSIVE networks(name) AS (
                SELECT min(network) FROM vms
                UNION ALL
                SELECT (SELECT min(network) FROM vms WHERE network > networks.name) FROM networks WHERE networks.name IS NOT NULL
            )
            SELECT \(Self.prefixedColumns)
            FROM networks JOIN vms ON vms.network = networks.name AND vms.vm_id = ?
            ORDER BY vms.network
            """)
        selectFullScan = try prepare("SELECT \(Self.columns) FROM vms WHERE vm_id = ? ORDER BY network")
        begin = try prepare("BEGIN IMMEDIATE")
        commit = try prepare("COMMIT")
    }

    func close() {
        for statement in [insert, selectPair, selectByID, selectFullScan, begin, commit] { sqlite3_finalize(statement) }
        sqlite3_close_v2(db)
        db = nil
    }

    private func check(_ code: Int32, _ expected: Int32 = SQLITE_DONE) throws {
        guard code == expected else { throw ValidationError("SQLite error \(code): \(String(cString: sqlite3_errmsg(db)))") }
    }

    private func run(_ statement: OpaquePointer) throws {
        defer { sqlite3_reset(statement) }
        try check(sqlite3_step(statement))
    }

    /// `created_at` as the store writes it, with the C library's formatter.
    private func now() -> String {
        var seconds = time(nil)
        var parts = tm()
        gmtime_r(&seconds, &parts)
        var buffer = [CChar](repeating: 0, count: 24)
        let length = strftime(&buffer, buffer.count, "%Y-%m-%dT%H:%M:%SZ", &parts)
        return String(decoding: buffer[..<length].map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    private func bind(_ statement: OpaquePointer, _ index: Int32, _ value: String?) {
        if let value { sqlite3_bind_text(statement, index, value, -1, transient) } else { sqlite3_bind_null(statement, index) }
    }

    private func bind(_ statement: OpaquePointer, _ index: Int32, _ value: Int64?) {
        if let value { sqlite3_bind_int64(statement, index, value) } else { sqlite3_bind_null(statement, index) }
    }

    /// Inserts `vms` in one transaction.
    func provisionAll(_ vms: some Collection<NewVM>) throws {
        try run(begin)
        for vm in vms {
            let timestamp = now()
            bind(insert, 1, vm.identity.network)
            bind(insert, 2, vm.identity.vmID)
            bind(insert, 3, vm.name)
            bind(insert, 4, vm.nodeID)
            bind(insert, 5, vm.contractID)
            bind(insert, 6, vm.twinID)
            bind(insert, 7, vm.status.rawValue)
            bind(insert, 8, vm.ipv4)
            bind(insert, 9, vm.ipv6)
            bind(insert, 10, vm.myceliumIP)
            bind(insert, 11, vm.flist)
            bind(insert, 12, vm.cpu)
            bind(insert, 13, vm.memoryMB)
            bind(insert, 14, vm.diskGB)
            bind(insert, 15, vm.installedVersion)
            bind(insert, 16, timestamp)
            bind(insert, 17, timestamp)
            bind(insert, 18, vm.metadata)
            bind(insert, 19, "provision")
            try run(insert)
            guard sqlite3_changes(db) == 1 else { throw ValidationError("insert changed \(sqlite3_changes(db)) rows") }
        }
        try run(commit)
    }

    func vm(_ identity: VMIdentity) throws -> Row? {
        bind(selectPair, 1, identity.network)
        bind(selectPair, 2, identity.vmID)
        return try rows(selectPair).first
    }

    func vms(withID id: String) throws -> [Row] {
        bind(selectByID, 1, id)
        return try rows(selectByID)
    }

    func vmsByFullScan(withID id: String) throws -> [Row] {
        bind(selectFullScan, 1, id)
        return try rows(selectFullScan)
    }

    private func rows(_ statement: OpaquePointer) throws -> [Row] {
        defer { sqlite3_reset(statement) }
        var rows: [Row] = []
        while true {
            let code = sqlite3_step(statement)
            if code == SQLITE_DONE { return rows }
            try check(code, SQLITE_ROW)
            rows.append(Row(
                rowID: sqlite3_column_int64(statement, 0), network: text(statement, 1)!, vmID: text(statement, 2)!,
                name: text(statement, 3)!, nodeID: int(statement, 4), contractID: int(statement, 5), twinID: int(statement, 6),
                status: text(statement, 7)!, ipv4: text(statement, 8), ipv6: text(statement, 9), myceliumIP: text(statement, 10),
                flist: text(statement, 11), cpu: int(statement, 12), memoryMB: int(statement, 13), diskGB: int(statement, 14),
                installedVersion: text(statement, 15), availableVersion: text(statement, 16), updatesCheckedAt: text(statement, 17),
                createdAt: text(statement, 18)!, updatedAt: text(statement, 19)!, metadata: text(statement, 20),
                origin: text(statement, 21)!))
        }
    }

    private func text(_ statement: OpaquePointer, _ index: Int32) -> String? {
        guard let bytes = sqlite3_column_text(statement, index) else { return nil }
        let count = Int(sqlite3_column_bytes(statement, index))
        return String(decoding: UnsafeBufferPointer(start: bytes, count: count), as: UTF8.self)
    }

    private func int(_ statement: OpaquePointer, _ index: Int32) -> Int64? {
        sqlite3_column_type(statement, index) == SQLITE_NULL ? nil : sqlite3_column_int64(statement, index)
    }
}

extension Duration {
    var seconds: Double { Double(components.seconds) + Double(components.attoseconds) / 1e18 }
}
