import ArgumentParser
import Foundation
import GRDB
import MigrationKit
import ShippedMigrations
import VMRepair

/// Repair at scale (issue 5): a million inventory entries against a million
/// records, in bounded memory.
///
///     vmdb-bench repair prepare --dir bench-data/repair --records 1000000
///     /usr/bin/time -v vmdb-bench repair scan --dir bench-data/repair   # reading alone
///     /usr/bin/time -v vmdb-bench repair run --dir bench-data/repair    # the whole report
///
/// `prepare` makes a v3 database with the records split over `main` and `qa`,
/// and one saved `list_vms` answer per network in which 0.5 % of the records
/// are missing (ghosts), 0.5 % more VMs appear (orphans) and 0.5 % differ in
/// status (drift). Run each measured phase in its own process so peak RSS is its own.
/// With `--intents N`, the database is at v4 with N pending provision intents whose
/// lease ran out: half carried by orphans of the inventories (`request_id`), to adopt,
/// and half carried by none, to note as missing.
struct RepairBenchmark: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "repair",
        abstract: "Repair on 1M inventory entries vs 1M records: time and peak memory.",
        subcommands: [Prepare.self, Scan.self, Run.self])

    static let networks = ["main", "qa"]

    struct Location: ParsableArguments {
        @Option(help: "Folder for the database and the inventories.")
        var dir = "bench-data/repair"

        var database: String { (dir as NSString).appendingPathComponent("repair.db") }
        func inventory(_ network: String) -> String { (dir as NSString).appendingPathComponent("\(network).json") }
    }

    struct Prepare: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Make the database and the inventories.")

        @OptionGroup var location: Location

        @Option(help: "Records in the store (about as many inventory entries are written).")
        var records = 1_000_000

        @Option(help: "Pending provision intents (v4), half of them carried by orphans; 0: a v3 database as before.")
        var intents = 0

        func run() throws {
            try FileManager.default.createDirectory(atPath: location.dir, withIntermediateDirectories: true)
            for path in [location.database] + RepairBenchmark.networks.map(location.inventory) {
                for suffix in ["", "-wal", "-shm"] { try? FileManager.default.removeItem(atPath: path + suffix) }
            }
            let start = Date()
            try ShippedMigrations.migrator(toolVersion: "bench").createDatabase(path: location.database, version: intents > 0 ? 4 : 3)
            let queue = try DatabaseQueue(path: location.database)
            try queue.write { db in
                let insert = try db.makeStatement(sql: """
                    INSERT INTO vms (vm_id, name, node_id, contract_id, twin_id, status, ipv4, flist, cpu, memory_mb, disk_gb,
                                     created_at, updated_at, network, origin)
                    VALUES (?, ?, ?, ?, 42, 'running', ?, 'https://hub.grid.tf/tf-official-vms/ubuntu-24.04-full.flist', 2, 4096, 50,
                            '2026-01-01T00:00:00Z', '2026-01-02T00:00:00Z', ?, 'provision')
                    """)
                for index in 0..<records {
                    try insert.execute(arguments: [Self.id(index), "vm-\(index)", 1000 + index % 5000, 100_000 + index,
                                                   "185.69.\(index / 256 % 256).\(index % 256)/24", RepairBenchmark.networks[index % 2]])
                }
                // The first intents/2 orphans carry a request id with an intent; as many intents have no VM.
                guard intents > 0 else { return }
                let intent = try db.makeStatement(sql: """
                    INSERT INTO provision_intents (network, request_id, name, cpu, state, lease_owner, lease_expires_at, created_at, updated_at)
                    VALUES (?, ?, ?, 2, 'pending', 'gone', '2026-01-01T00:10:00Z', '2026-01-01T00:00:00Z', '2026-01-01T00:00:00Z')
                    """)
                for index in records..<(records + intents) {
                    try intent.execute(arguments: [RepairBenchmark.networks[index % 2], Self.requestID(index), "vm-\(index)"])
                }
            }
            try queue.close()
            print(String(format: "database: %d records in %.1f s", records, Date().timeIntervalSince(start)))

            var written = 0
            for (slot, network) in RepairBenchmark.networks.enumerated() {
                let path = location.inventory(network)
                _ = FileManager.default.createFile(atPath: path, contents: nil)
                let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: path))
                var buffer = #"{"jsonrpc":"2.0","id":1,"result":{"network":"\#(network)","vms":["#
                var first = true
                func emit(_ index: Int, status: String, requestID: String? = nil) throws {
                    buffer += (first ? "" : ",") + Self.entry(index, status: status, requestID: requestID)
                    first = false
                    written += 1
                    if buffer.utf8.count > 1 << 20 { try handle.write(contentsOf: Data(buffer.utf8)); buffer = "" }
                }
                for index in stride(from: slot, to: records, by: 2) {
                    if index % 200 == 0 { continue }                                  // ghost: the daemon lost it
                    try emit(index, status: index % 200 == 100 ? "stopped" : "running") // drift on status
                }
                for index in stride(from: records + slot, to: records + records / 200, by: 2) {
                    try emit(index, status: "running", requestID: index < records + intents / 2 ? Self.requestID(index) : nil)  // orphan
                }
                buffer += "]}}\n"
                try handle.write(contentsOf: Data(buffer.utf8))
                try handle.close()
            }
            print(String(format: "inventories: %d entries in %.1f s (%@)", written, Date().timeIntervalSince(start),
                         RepairBenchmark.networks.map(location.inventory).joined(separator: ", ")))
        }

        static func id(_ index: Int) -> String {
            let digits = String(index, radix: 36)
            return String(repeating: "0", count: max(0, 4 - digits.count)) + digits
        }

        static func requestID(_ index: Int) -> String { "req-\(index)" }

        /// A daemon's entry, about 300 bytes, with the fields a compute daemon reports.
        static func entry(_ index: Int, status: String, requestID: String? = nil) -> String {
            #"{"vm_id":"\#(id(index))",\#(requestID.map { #""request_id":"\#($0)","# } ?? "")"name":"vm-\#(index)","status":"\#(status)","node_id":\#(1000 + index % 5000),"contract_id":\#(100_000 + index),"twin_id":42,"addresses":{"ipv4":"185.69.\#(index / 256 % 256).\#(index % 256)/24","mycelium":"5b4:\#(String(index, radix: 16))::1"},"flist":"https://hub.grid.tf/tf-official-vms/ubuntu-24.04-full.flist","cpu":2,"memory_mb":4096,"disk_gb":50,"created_at":"2026-01-01T00:00:00Z"}"#
        }
    }

    struct Scan: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Read the inventories alone (no database).")

        @OptionGroup var location: Location

        func run() throws {
            let start = Date()
            var entries = 0, bytes = 0
            for network in RepairBenchmark.networks {
                let result = try InventoryScan.scan(file: location.inventory(network))
                entries += result.entries
                bytes += result.entryBytes
            }
            let seconds = Date().timeIntervalSince(start)
            print(String(format: "read %d entries (%.0f MB of entry text) in %.2f s: %.0f entries/s; peak RSS %@",
                         entries, Double(bytes) / 1e6, seconds, Double(entries) / seconds, RepairBenchmark.peakRSS()))
        }
    }

    struct Run: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "The whole report: read, index, compare with the store.")

        @OptionGroup var location: Location

        func run() throws {
            let session = RepairSession(databasePath: location.database)
            let sources = RepairBenchmark.networks.map { InventorySource.file(path: location.inventory($0), network: nil) }
            let report = try session.run(sources)
            let intents = report.intents.map { intents in
                Dictionary(grouping: intents.findings, by: \.resolution.rawValue).mapValues(\.count).sorted { $0.key < $1.key }
                    .map { "\($0.key) \($0.value)" }.joined(separator: ", ")
            }
            print(String(format: "repair report: %d entries vs the store: %d orphans, %d ghosts, %d drift%@; inventories read and indexed in %.2f s, total %.2f s; peak RSS %@",
                         report.sources.map(\.entries).reduce(0, +), report.counts.orphans, report.counts.ghosts,
                         report.counts.drift, intents.map { "; intents: \($0)" } ?? "", report.inventorySeconds, report.seconds,
                         RepairBenchmark.peakRSS()))
        }

    }

    /// The process's peak resident memory so far (Linux reports ru_maxrss in KiB).
    static func peakRSS() -> String {
        var usage = rusage()
        #if os(Linux)
        getrusage(RUSAGE_SELF.rawValue, &usage)
        #else
        getrusage(RUSAGE_SELF, &usage)
        #endif
        return String(format: "%.0f MiB", Double(usage.ru_maxrss) / 1024)
    }
}
