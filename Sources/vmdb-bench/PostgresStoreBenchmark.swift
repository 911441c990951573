import ArgumentParser
import Dispatch
import Foundation
import Logging
import MigrationKitPostgres
import PostgresAccess
import PostgresNIO
import ShippedMigrations
import VMStore
import VMStorePostgres

/// The store on PostgreSQL against raw PostgresNIO doing the same statements (issue 24), as
/// `store` measures the SQLite store against the C API.
///
/// Two databases on the server, made by the shipped PostgreSQL migrations (latest version), the
/// same generated VMs in each. The raw side is the floor the store is built on: one
/// `PostgresConnection`, the store's own SQL with every value bound, each statement waited for
/// from the calling thread as the store's sync forms do, every column of a looked-up row decoded.
/// What the ratio shows is the store's own cost: its pool, the schema version it reads in each
/// write transaction, its checks and decoding.
struct PostgresStoreBenchmark: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "postgres-store",
        abstract: "The store on PostgreSQL vs raw PostgresNIO.",
        discussion: """
            Measures provision (in transactions of 1,000, and one transaction each), lookup by (network, vm_id) \
            and lookup by id alone. Prints a markdown table with each side's throughput and the ratio store/raw \
            (1.0 = as fast as raw PostgresNIO). The server is --url, or VMDB_TEST_POSTGRES_URL; the role needs CREATEDB.
            """)

    @Option(help: "The server (postgres://…); default: VMDB_TEST_POSTGRES_URL. Two databases are created on it and dropped after.")
    var url: String?

    @Option(help: "VMs to provision, spread over the networks.")
    var vms = 20_000

    @Option(help: "Networks (main, test, qa, dev, then net4, net5, …).")
    var networks = 4

    @Option(help: "Lookups per measurement.")
    var lookups = 20_000

    @Option(help: "Provisions measured one transaction each (a commit each).")
    var durable = 1_000

    @Option(help: "Measurements of each lookup; the best is kept.")
    var rounds = 3

    @Option(help: "Random seed for the generated ids.")
    var seed: UInt64 = 42

    func run() throws {
        guard let server = url ?? ProcessInfo.processInfo.environment["VMDB_TEST_POSTGRES_URL"] else {
            throw ValidationError("give the server with --url postgres://… or VMDB_TEST_POSTGRES_URL")
        }
        let admin = try PostgresLocation(url: server)
        let suffix = String(UInt32.random(in: 0...UInt32.max), radix: 16)
        let names = (store: "vmdb_bench_store_\(suffix)", raw: "vmdb_bench_raw_\(suffix)")
        let migrator = PostgresMigrator(catalog: ShippedMigrations.postgresCatalog, toolVersion: "bench", configuration: ShippedMigrations.configuration)
        try blocking {
            try await admin.withClient { client in
                for name in [names.store, names.raw] { _ = try await client.query(PostgresQuery(unsafeSQL: "CREATE DATABASE \(name)")) }
            }
            for name in [names.store, names.raw] { _ = try await migrator.migrate(admin.onDatabase(name)) }
        }
        defer {
            try? blocking {
                try await admin.withClient { client in
                    for name in [names.store, names.raw] { _ = try await client.query(PostgresQuery(unsafeSQL: "DROP DATABASE IF EXISTS \(name) WITH (FORCE)")) }
                }
            }
        }

        var generator = SplitMix64(seed: seed)
        let data = try BenchData(vms: vms, networks: networks, durable: durable, lookups: lookups, using: &generator)
        print("postgres-store benchmark: \(vms) VMs over \(networks) networks (\(data.sharedIDs) ids on more than one network), \(lookups) lookups, on \(admin)\n")

        let store = try VMStore(postgres: admin.onDatabase(names.store))
        let raw = try RawPostgres(admin.onDatabase(names.raw))
        defer {
            try? store.close()
            raw.close()
        }
        var results: [StoreBenchmark.Measurement] = []

        // Each measurement alternates the two sides (a chunk or a round each in turn): the machine is shared.
        let chunkSize = 1_000
        var bulk = (store: Duration.zero, raw: Duration.zero)
        for start in stride(from: 0, to: data.bulk.count, by: chunkSize) {
            let chunk = data.bulk[start..<min(start + chunkSize, data.bulk.count)]
            bulk.store += try elapsed { try store.write { writer in for vm in chunk { try writer.provision(vm) } } }
            bulk.raw += try elapsed { try raw.provisionAll(chunk) }
        }
        results.append(.init(name: "provision, in transactions of \(chunkSize)", count: data.bulk.count, store: bulk.store, raw: bulk.raw))

        var each = (store: Duration.zero, raw: Duration.zero)
        for vm in data.durable {
            each.store += try elapsed { try store.provision(vm) }
            each.raw += try elapsed { try raw.provisionAll([vm]) }
        }
        results.append(.init(name: "provision, one transaction each", count: data.durable.count, store: each.store, raw: each.raw))

        results += try readMeasurements(store: store, raw: raw, data: data, rounds: rounds)

        print("| operation | store (ops/s) | raw PostgresNIO (ops/s) | store / raw |")
        print("|---|---:|---:|---:|")
        for result in results {
            print(String(format: "| %@ | %.0f | %.0f | %.2f |", result.name, result.storeRate, result.rawRate, result.ratio))
        }
    }

    /// Runs async setup from this synchronous command (the main thread, never the cooperative pool's).
    private func blocking(_ body: @escaping @Sendable () async throws -> Void) throws {
        let done = DispatchSemaphore(value: 0)
        nonisolated(unsafe) var failure: (any Error)?
        Task {
            do { try await body() } catch { failure = error }
            done.signal()
        }
        done.wait()
        if let failure { throw failure }
    }
}

/// The floor: one PostgresNIO connection, the store's SQL (`PostgresStatements`), values bound,
/// each statement's future waited for from the calling thread.
final class RawPostgres {
    private let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
    private let connection: PostgresConnection
    private let logger = Logger(label: "vmdb-bench.raw", factory: { _ in SwiftLogNoOpLogHandler() })

    init(_ location: PostgresLocation) throws {
        connection = try PostgresConnection.connect(on: group.next(), configuration: try location.connectionConfiguration(), id: 1, logger: logger).wait()
    }

    func close() {
        try? connection.close().wait()
        try? group.syncShutdownGracefully()
    }

    private static let columns = """
        id, network, vm_id, name, node_id, contract_id, twin_id, status, ipv4, ipv6, mycelium_ip, flist, \
        cpu, memory_mb, disk_gb, installed_version, available_version, updates_checked_at, created_at, \
        updated_at, metadata, origin
        """
    private static let qualifiedColumns = columns.split(separator: ",")
        .map { "vms." + $0.trimmingCharacters(in: .whitespacesAndNewlines) }.joined(separator: ", ")

    @discardableResult
    private func run(_ query: PostgresQuery) throws -> PostgresQueryResult {
        try connection.query(query, logger: logger).wait()
    }

    /// Inserts `vms` in one transaction, as the store's provision does.
    func provisionAll(_ vms: some Collection<NewVM>) throws {
        try run("BEGIN ISOLATION LEVEL READ COMMITTED")
        for vm in vms {
            let identity = vm.identity
            let timestamp = Timestamp.string(from: Date())
            let inserted = try run("""
                INSERT INTO vms (network, vm_id, name, node_id, contract_id, twin_id, status, ipv4, ipv6, mycelium_ip, flist,
                                 cpu, memory_mb, disk_gb, installed_version, created_at, updated_at, metadata, origin)
                VALUES (\(identity.network), \(identity.vmID), \(vm.name), \(vm.nodeID), \(vm.contractID), \(vm.twinID),
                        \(vm.status.rawValue), \(vm.ipv4), \(vm.ipv6), \(vm.myceliumIP), \(vm.flist), \(vm.cpu), \(vm.memoryMB),
                        \(vm.diskGB), \(vm.installedVersion), \(timestamp), \(timestamp), \(vm.metadata), \("provision"))
                ON CONFLICT (network, vm_id) DO NOTHING
                RETURNING id
                """)
            guard inserted.rows.first != nil else { throw ValidationError("\(identity) was recorded already") }
        }
        try run("COMMIT")
    }

    func vm(_ identity: VMIdentity) throws -> RawStore.Row? {
        try run("SELECT \(unescaped: Self.columns) FROM vms WHERE network = \(identity.network) AND vm_id = \(identity.vmID)")
            .rows.first.map(Self.decode)
    }

    func vms(withID id: String) throws -> [RawStore.Row] {
        try run("""
            WITH RECURSIVE networks(name) AS (
                SELECT min(network) FROM vms
                UNION ALL
                SELECT (SELECT min(network) FROM vms WHERE network > networks.name) FROM networks WHERE networks.name IS NOT NULL
            )
            SELECT \(unescaped: Self.qualifiedColumns)
            FROM networks JOIN vms ON vms.network = networks.name AND vms.vm_id = \(id)
            ORDER BY vms.network
            """).rows.map(Self.decode)
    }

    private static func decode(_ row: PostgresRow) throws -> RawStore.Row {
        let cells = row.makeRandomAccess()
        return RawStore.Row(
            rowID: try cells[0].decode(Int64.self), network: try cells[1].decode(String.self), vmID: try cells[2].decode(String.self),
            name: try cells[3].decode(String.self), nodeID: try cells[4].decode(Int64?.self), contractID: try cells[5].decode(Int64?.self),
            twinID: try cells[6].decode(Int64?.self), status: try cells[7].decode(String.self), ipv4: try cells[8].decode(String?.self),
            ipv6: try cells[9].decode(String?.self), myceliumIP: try cells[10].decode(String?.self), flist: try cells[11].decode(String?.self),
            cpu: try cells[12].decode(Int64?.self), memoryMB: try cells[13].decode(Int64?.self), diskGB: try cells[14].decode(Int64?.self),
            installedVersion: try cells[15].decode(String?.self), availableVersion: try cells[16].decode(String?.self),
            updatesCheckedAt: try cells[17].decode(String?.self), createdAt: try cells[18].decode(String.self),
            updatedAt: try cells[19].decode(String.self), metadata: try cells[20].decode(String?.self), origin: try cells[21].decode(String.self))
    }
}
