import ArgumentParser
import Foundation
import VMRepair
import VMStore

/// A deployer's load on the real VMStore, for the zero-downtime upgrade (issue 15):
/// run it on a v2 file, run `vmdb migrate --online` beside it, and read what it saw.
///
/// Each tick is one durable write transaction of the kinds a deployer makes
/// (provisions on four networks, some reusing an id another network has; status,
/// installed-version and update-check writes; events; deletes); between writes it
/// looks VMs up (by id alone, or by pair) as fast as it can. It stops by itself and prints one JSON document:
/// writes attempted, succeeded, refused by the store's rules and failed (with
/// their error codes), write latency, lookups, the schema versions the store saw
/// in order, and every acknowledged write, so that a test can check each one.
struct DeployerLoad: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "deployer",
        abstract: "Drive the VM store as a deployer would, for a while, and report what it saw (JSON).")

    @Option(help: "The deployer's database (v2 or v3).")
    var db: String

    @Option(help: "Write transactions per second.")
    var rate = 50.0

    @Option(help: "How long to run.")
    var seconds = 10.0

    @Option(help: "The store's busy timeout, in seconds.")
    var busyTimeout = 1.0

    @Option(help: "Random seed for ids and the mix of operations.")
    var seed: UInt64 = 1

    @Option(help: "Stop early once this file exists.")
    var stopFile: String?

    @Option(help: "Output format (json only).")
    var format = "json"

    @Option(help: "Provision through this compute daemon (unix:///… or http://…/rpc) instead of the store-only mix: every tick deploys one VM.")
    var daemon: String?

    @Option(help: "With --daemon: the daemon's network.")
    var network = "main"

    @Option(help: "With --daemon: the create path, intents (begin, deploy_vm, complete), plain (deploy_vm, then provision), or auto (intents once the store has seen v4).")
    var createPath = "intents"

    @Option(help: "With --daemon: the intents' lease, in seconds.")
    var leaseSeconds = 2.0

    @Option(help: "With --daemon: who holds the leases (also the request ids' prefix; unique per run).")
    var owner = "load"

    @Option(help: "With --daemon: SIGKILL this process after-begin:N or after-deploy:N (the N-th provision).")
    var killAt: String?

    @Option(help: "With --daemon: one request in this many asks for more cores than any node has (the daemon refuses it); 0: none.")
    var refuseEvery = 0

    @Option(help: "With --daemon: the daemon call's timeout, in seconds.")
    var daemonTimeout = 5.0

    @Option(help: "With --daemon: N:FILE: after the N-th daemon answer, create FILE and wait until it is deleted before completing.")
    var holdAfterDeploy: String?

    /// One write the store acknowledged.
    struct Acknowledged: Codable {
        var op: String
        var network: String
        var vmID: String
        /// The status written, or the event's kind.
        var value: String?
        /// The schema version the write saw.
        var version: Int
    }

    struct Report: Codable {
        var attempted = 0
        var succeeded = 0
        /// Refused by the store's own rules, by error code (v2's `idOnAnotherNetwork`): the deployer's answer, not a failure.
        var refused: [String: Int] = [:]
        /// Every other error, by code: the figure that must be 0.
        var failed: [String: Int] = [:]
        var failures: [String] = []
        var latencyMilliseconds: [String: Double] = [:]
        var lookups = 0
        var lookupsPerSecond = 0.0
        var versionsSeen: [Int] = []
        /// Provisions of an id another network had: refused on v2, recorded on v3.
        var collisionsRefused = 0
        var collisionsRecorded = 0
        var seconds = 0.0
        var acknowledged: [Acknowledged] = []
    }

    func validate() throws {
        guard rate > 0, seconds > 0, busyTimeout >= 0 else { throw ValidationError("--rate and --seconds must be positive, --busy-timeout not negative") }
        guard format == "json" else { throw ValidationError("--format: json is the only format") }
        guard IntentProvisioner.Path(rawValue: createPath) != nil else { throw ValidationError("--create-path: intents, plain or auto") }
        if let killAt, IntentProvisioner.KillPoint(killAt) == nil { throw ValidationError("--kill-at: after-begin:N or after-deploy:N") }
        if let holdAfterDeploy, Self.hold(holdAfterDeploy) == nil { throw ValidationError("--hold-after-deploy: N:FILE") }
    }

    private static func hold(_ text: String) -> (provision: Int, file: String)? {
        guard let colon = text.firstIndex(of: ":"), let provision = Int(text[..<colon]), provision > 0 else { return nil }
        let file = String(text[text.index(after: colon)...])
        return file.isEmpty ? nil : (provision, file)
    }

    func run() throws {
        let store = try VMStore(path: db, options: .init(busyTimeout: busyTimeout))
        defer { try? store.close() }
        if let daemon {
            let endpoint = try DaemonEndpoint(parsing: daemon)
            var provisioner = IntentProvisioner(
                store: store, daemon: .init(network: network, endpoint: endpoint, timeout: daemonTimeout),
                path: IntentProvisioner.Path(rawValue: createPath) ?? .intents, owner: owner, lease: leaseSeconds,
                killAt: killAt.flatMap(IntentProvisioner.KillPoint.init), refuseEvery: refuseEvery)
            provisioner.holdAfterDeploy = holdAfterDeploy.flatMap(Self.hold)
            let report = provisioner.run(rate: rate, seconds: seconds, stopFile: stopFile)
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.sortedKeys]
            FileHandle.standardOutput.write(try encoder.encode(report))
            FileHandle.standardOutput.write(Data("\n".utf8))
            return
        }
        var random = SplitMix64(seed: seed)
        let networks = ["main", "test", "qa", "dev"]
        var live: [VMIdentity] = []
        var report = Report()
        var latencies: [Double] = []
        let start = Date()
        let interval = 1 / rate
        var tick = 0
        func seen() {
            let version = store.databaseSchemaVersion
            if report.versionsSeen.last != version { report.versionsSeen.append(version) }
        }
        seen()
        while Date().timeIntervalSince(start) < seconds {
            if let stopFile, FileManager.default.fileExists(atPath: stopFile) { break }
            tick += 1
            let roll = Int.random(in: 0..<100, using: &random)
            var collision = false
            var acknowledged: Acknowledged?
            let began = Date()
            report.attempted += 1
            do {
                // Too few VMs of its own yet: provision first.
                switch live.count < 4 ? 0 : roll {
                case 0..<35:
                    // A provision; one in five reuses an id another network has.
                    let network = networks.randomElement(using: &random)!
                    // Ids no generated database has (theirs are four base-36 characters).
                    var vmID = "load-" + String(tick, radix: 36)
                    if roll < 7, let other = live.filter({ $0.network != network }).randomElement(using: &random),
                       !live.contains(where: { $0.network == network && $0.vmID == other.vmID }) {
                        vmID = other.vmID
                        collision = true
                    }
                    let identity = try VMIdentity(network: network, vmID: vmID)
                    try store.provision(NewVM(identity: identity, name: "load-\(tick)", status: .provisioning))
                    live.append(identity)
                    acknowledged = Acknowledged(op: "provision", network: network, vmID: vmID, value: nil, version: store.databaseSchemaVersion)
                case 35..<60:
                    let identity = live.randomElement(using: &random)!
                    let status = [VMStatus.running, .stopped, .error].randomElement(using: &random)!
                    try store.recordStatus(status, for: identity.reference)
                    acknowledged = Acknowledged(op: "status", network: identity.network, vmID: identity.vmID, value: status.rawValue, version: store.databaseSchemaVersion)
                case 60..<70:
                    let identity = live.randomElement(using: &random)!
                    try store.recordInstalledVersion("1.\(tick)", for: identity.reference)
                    acknowledged = Acknowledged(op: "installed", network: identity.network, vmID: identity.vmID, value: "1.\(tick)", version: store.databaseSchemaVersion)
                case 70..<78:
                    let identity = live.randomElement(using: &random)!
                    try store.recordUpdateCheck(for: identity.reference)
                    acknowledged = Acknowledged(op: "check", network: identity.network, vmID: identity.vmID, value: nil, version: store.databaseSchemaVersion)
                case 78..<95:
                    let identity = live.randomElement(using: &random)!
                    try store.recordEvent("load-\(tick)", for: identity.reference)
                    acknowledged = Acknowledged(op: "event", network: identity.network, vmID: identity.vmID, value: "load-\(tick)", version: store.databaseSchemaVersion)
                default:
                    let index = Int.random(in: 0..<live.count, using: &random)
                    let identity = live.remove(at: index)
                    try store.delete(identity.reference)
                    acknowledged = Acknowledged(op: "delete", network: identity.network, vmID: identity.vmID, value: nil, version: store.databaseSchemaVersion)
                }
                report.succeeded += 1
                if collision { report.collisionsRecorded += 1 }
                latencies.append(Date().timeIntervalSince(began) * 1000)
            } catch let error as StoreError where error.code == .idOnAnotherNetwork {
                report.refused[error.code.description, default: 0] += 1
                report.collisionsRefused += 1
            } catch let error as StoreError {
                report.failed[error.code.description, default: 0] += 1
                if report.failures.count < 20 { report.failures.append("\(error)") }
            } catch {
                report.failed["other", default: 0] += 1
                if report.failures.count < 20 { report.failures.append("\(error)") }
            }
            if let acknowledged { report.acknowledged.append(acknowledged) }
            seen()
            // Until the next write, lookups as fast as they go: by pair, or by id alone
            // (ambiguous once v3 records a collision). At least one per tick.
            let next = start.addingTimeInterval(Double(tick) * interval)
            repeat {
                guard let identity = live.randomElement(using: &random) else { break }
                let reference = report.lookups % 2 == 0 ? identity.reference : (try? VMReference(vmID: identity.vmID, network: nil)) ?? identity.reference
                _ = try? store.vm(reference)
                report.lookups += 1
            } while next.timeIntervalSinceNow > 0
        }
        report.seconds = Date().timeIntervalSince(start)
        report.lookupsPerSecond = Double(report.lookups) / max(report.seconds, 0.001)
        latencies.sort()
        func percentile(_ p: Double) -> Double {
            latencies.isEmpty ? 0 : latencies[min(latencies.count - 1, Int((Double(latencies.count) * p).rounded(.down)))]
        }
        report.latencyMilliseconds = ["p50": percentile(0.5), "p99": percentile(0.99), "max": latencies.last ?? 0]
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        FileHandle.standardOutput.write(try encoder.encode(report))
        FileHandle.standardOutput.write(Data("\n".utf8))
    }
}
