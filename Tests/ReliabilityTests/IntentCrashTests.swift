import Foundation
import GRDB
import Testing
import VMDBTestSupport
import VMRepair

/// The reason for provision intents: a deployer provisioning through them
/// (`vmdb-bench deployer --daemon`, a real process on the real store) against a
/// real daemon process is SIGKILLed at random moments and at the exact points
/// between the calls (after begin, after the daemon's answer), while the daemon
/// drops every fifth answer after creating the VM and another process holds the
/// write lock past the deployer's busy timeout. After each kill, `vmdb repair
/// --daemons … --apply` runs as often as the two-scan rule needs. Then every VM
/// the daemon runs is recorded, every intent is closed, no VM is recorded twice,
/// and nothing the store records is unknown to the daemon: 0 VMs unaccounted for.
///
/// All rounds share one database and one daemon, so each round's checks cover
/// everything before it. `VMDB_HEAVY=1` runs 36 rounds (CI: 6).
@Suite(.serialized, .tags(.slow)) struct IntentCrashTests {
    enum Kill: CustomStringConvertible {
        /// The process kills itself after the N-th begin commits, before the daemon is called.
        case afterBegin(Int)
        /// After the N-th daemon answer, before complete.
        case afterDeploy(Int)
        /// SIGKILL from outside, this long after the start.
        case after(Double)

        var description: String {
            switch self {
            case .afterBegin(let n): "after-begin:\(n)"
            case .afterDeploy(let n): "after-deploy:\(n)"
            case .after(let seconds): "at \(Int(seconds * 1000)) ms"
            }
        }
    }

    struct Round {
        let kill: Kill
        /// Another process holds the write lock past the deployer's busy timeout meanwhile.
        let holdsLock: Bool
    }

    static var rounds: [Round] {
        var random = SeededRandom(seed: 23)
        let count = Reliability.isHeavy ? 36 : 6
        return (0..<count).map { index in
            let kill: Kill = switch index % 3 {
            case 0: .afterDeploy(Int.random(in: 1...25, using: &random))
            case 1: .afterBegin(Int.random(in: 1...25, using: &random))
            default: .after(0.2 + Double(Int.random(in: 0...1200, using: &random)) / 1000)
            }
            return Round(kill: kill, holdsLock: index % 4 == 3)
        }
    }

    /// Every VM the daemon lists: vm_id → request_id.
    static func daemonVMs(_ daemon: DaemonConfiguration.Daemon) throws -> [String: String] {
        let answer = try JSONSerialization.jsonObject(with: try DaemonClient().listVMs(from: daemon)) as? [String: Any]
        let result = answer?["result"] as? [String: Any]
        let vms = result?["vms"] as? [[String: Any]] ?? []
        return Dictionary(uniqueKeysWithValues: vms.map { ($0["vm_id"] as? String ?? "", $0["request_id"] as? String ?? "") })
    }

    /// Runs repair with --apply until nothing is left for it (the two-scan rule needs a
    /// second run after the interval; a lease must run out first).
    static func repairUntilSettled(_ path: String, config: String, label: String) throws -> Int {
        for run in 1...8 {
            let result = try Reliability.vmdb(["repair", "--db", path, "--daemons", config, "--apply", "--no-backup",
                                               "--intent-age", "0", "--abandon-after", "1", "--format", "json"])
            #expect(result.exitCode == 0 || result.exitCode == 3, "\(label): repair exited \(result.exitCode): \(result.standardError)")
            let pending = try DatabaseQueue(path: path).read { db in
                try Int.fetchOne(db, sql: "SELECT count(*) FROM provision_intents WHERE state = 'pending'") ?? -1
            }
            if result.exitCode == 0 && pending == 0 { return run }
            Thread.sleep(forTimeInterval: 1.1)
        }
        return 0
    }

    /// Every VM the daemon runs is recorded, and nothing else; every intent is closed, in
    /// agreement with the daemon (a VM under its request id if and only if recorded or
    /// adopted); no VM closes two intents; the file is sound.
    static func expectEverythingAccountedFor(_ path: String, daemon: DaemonConfiguration.Daemon, label: String,
                                             sourceLocation: SourceLocation = #_sourceLocation) throws {
        let daemonVMs = try Self.daemonVMs(daemon)
        try DatabaseQueue(path: path).read { db in
            let recorded = Set(try String.fetchAll(db, sql: "SELECT vm_id FROM vms WHERE network = 'main'"))
            let unaccounted = Set(daemonVMs.keys).subtracting(recorded)
            #expect(unaccounted.isEmpty, "\(label): \(unaccounted.count) daemon VM(s) unaccounted for: \(unaccounted.sorted().prefix(5))", sourceLocation: sourceLocation)
            #expect(recorded.subtracting(daemonVMs.keys).isEmpty, "\(label): the store records VMs the daemon does not run", sourceLocation: sourceLocation)
            #expect(try Int.fetchOne(db, sql: "SELECT count(*) FROM provision_intents WHERE state = 'pending'") == 0, "\(label): an intent is still open", sourceLocation: sourceLocation)
            let twice = try Int.fetchOne(db, sql: "SELECT count(*) FROM (SELECT vm_id FROM provision_intents WHERE vm_id IS NOT NULL GROUP BY network, vm_id HAVING count(*) > 1)")
            #expect(twice == 0, "\(label): a VM closes two intents", sourceLocation: sourceLocation)
            let byRequest = Dictionary(daemonVMs.map { ($0.value, $0.key) }, uniquingKeysWith: { a, _ in a })
            for row in try Row.fetchAll(db, sql: "SELECT request_id, state, vm_id FROM provision_intents") {
                let (requestID, state, vmID): (String, String, String?) = (row[0], row[1], row[2])
                switch state {
                case "recorded", "adopted":
                    #expect(byRequest[requestID] == vmID, "\(label): \(requestID) \(state) as \(vmID ?? "-")", sourceLocation: sourceLocation)
                default:
                    #expect(byRequest[requestID] == nil, "\(label): \(requestID) is \(state) but the daemon runs \(byRequest[requestID] ?? "")", sourceLocation: sourceLocation)
                }
            }
            #expect(try Reliability.integrity(db) == ["ok"], sourceLocation: sourceLocation)
        }
    }

    static func startDaemon(in directory: TemporaryDirectory, dropAnswerEvery: Int) throws -> (TestDaemon, DaemonConfiguration.Daemon, String) {
        let process = try TestDaemon(.compute(network: "main", dropAnswerEvery: dropAnswerEvery), on: .unixSocket(directory: directory.path), name: "main")
        let daemon = DaemonConfiguration.Daemon(network: "main", endpoint: try DaemonEndpoint(parsing: process.endpoint), timeout: 10)
        let config = directory.file("daemons.json")
        try Data(#"{"timeout_seconds": 10, "daemons": [{"network": "main", "endpoint": "\#(process.endpoint)"}]}"#.utf8)
            .write(to: URL(fileURLWithPath: config))
        return (process, daemon, config)
    }

    /// Starts `vmdb-bench` with `arguments`, its JSON report going to `output` (or nowhere).
    static func startDeployer(_ arguments: [String], output: String? = nil) throws -> Process {
        let deployer = Process()
        deployer.executableURL = URL(fileURLWithPath: VMDBProcess.builtExecutable("vmdb-bench"))
        deployer.arguments = arguments
        if let output {
            _ = FileManager.default.createFile(atPath: output, contents: nil)
            deployer.standardOutput = FileHandle(forWritingAtPath: output)
        } else {
            deployer.standardOutput = FileHandle.nullDevice
        }
        deployer.standardError = FileHandle.nullDevice
        try deployer.run()
        return deployer
    }

    static func deployerArguments(_ path: String, endpoint: String, owner: String, seconds: Double) -> [String] {
        ["deployer", "--db", path, "--daemon", endpoint, "--network", "main", "--rate", "100", "--seconds", "\(seconds)",
         "--busy-timeout", "0.2", "--lease-seconds", "1", "--owner", owner, "--refuse-every", "7"]
    }

    @Test func everyKillAndFaultLeavesNoVMUnaccountedForAfterRepair() async throws {
        try await offThePool {
            let directory = try TemporaryDirectory("intent-crash")
            let path = try Fixtures.database(version: 4, in: directory)
            try DatabaseQueue(path: path).writeWithoutTransaction { try $0.execute(sql: "PRAGMA journal_mode = WAL") }
            let (daemonProcess, daemon, config) = try Self.startDaemon(in: directory, dropAnswerEvery: 5)
            defer { daemonProcess.stop() }

            var tally = Tally(), repairRuns: [Int] = []
            for (index, round) in Self.rounds.enumerated() {
                let label = "round \(index + 1) (\(round.kill)\(round.holdsLock ? ", lock held" : ""))"
                var arguments = Self.deployerArguments(path, endpoint: daemonProcess.endpoint, owner: "r\(index)", seconds: 20)
                if case .afterBegin(let n) = round.kill { arguments += ["--kill-at", "after-begin:\(n)"] }
                if case .afterDeploy(let n) = round.kill { arguments += ["--kill-at", "after-deploy:\(n)"] }
                let deployer = try Self.startDeployer(arguments)
                if round.holdsLock {
                    Thread.sleep(forTimeInterval: 0.05)
                    let holder = try ConcurrencyTests.holdWriteLock(path, seconds: 0.6, in: directory)
                    holder.waitUntilExit()
                }
                if case .after(let seconds) = round.kill {
                    Thread.sleep(forTimeInterval: seconds)
                    kill(deployer.processIdentifier, SIGKILL)
                }
                deployer.waitUntilExit()
                #expect(deployer.terminationReason == .uncaughtSignal && deployer.terminationStatus == SIGKILL, "\(label): the deployer was not killed")

                let (pendingBefore, statesBefore) = try DatabaseQueue(path: path).read { db in
                    (try Int.fetchOne(db, sql: "SELECT count(*) FROM provision_intents WHERE state = 'pending'") ?? 0,
                     try Int.fetchOne(db, sql: "SELECT count(*) FROM provision_intents") ?? 0)
                }
                tally.add("\(pendingBefore > 0 ? "intents left pending" : "nothing pending") after the kill")
                let runs = try Self.repairUntilSettled(path, config: config, label: label)
                #expect(runs > 0, "\(label): repair did not settle")
                repairRuns.append(runs)

                try Self.expectEverythingAccountedFor(path, daemon: daemon, label: label)
                if statesBefore > 0 { tally.add("ok") }
            }
            let states = try DatabaseQueue(path: path).read { db in
                try Row.fetchAll(db, sql: "SELECT state, count(*) FROM provision_intents GROUP BY state ORDER BY state").map { "\($0[0] as String) \($0[1] as Int)" }
            }
            let daemonCount = try Self.daemonVMs(daemon).count
            print("intent crash sweep: \(Self.rounds.count) kills; \(tally.summary); daemon VMs \(daemonCount), unaccounted 0 checked each round; intents: \(states.joined(separator: ", ")); repair runs per round: \(repairRuns)")
        }
    }

    /// The store's write fails for real between the daemon's answer and complete: the
    /// deployer is held right after the N-th answer (`--hold-after-deploy`) while the disk
    /// it writes to (a small tmpfs) is filled by another process, or another process holds
    /// the write lock past its busy timeout; then it completes, and that write fails. The
    /// VM exists, its intent is pending: repair adopts it. Each round also runs on while the
    /// disk is full, so begins fail too (and then no daemon call is made).
    @Test(.enabled(if: SizeLimitedFolder.isAvailable, "\(SizeLimitedFolder.unavailableReason)"))
    func aStoreWriteThatFailsAfterTheDaemonsAnswerLeavesNoVMUnaccountedFor() async throws {
        try await offThePool {
            let directory = try TemporaryDirectory("intent-full-disk")
            let disk = try SizeLimitedFolder(bytes: 8 << 20, label: "intent-full-disk")
            let path = disk.file("deployer.db")
            try Reliability.copy(try Fixtures.database(version: 4, in: directory), to: path)
            try DatabaseQueue(path: path).writeWithoutTransaction { try $0.execute(sql: "PRAGMA journal_mode = WAL") }
            let (daemonProcess, daemon, config) = try Self.startDaemon(in: directory, dropAnswerEvery: 0)
            defer { daemonProcess.stop() }
            var byCall: [String: Int] = [:], adoptedAfter: [Int] = []
            for (round, fault) in ["full disk", "held lock", "full disk", "held lock"].enumerated() {
                let label = "round \(round + 1) (\(fault))"
                let output = directory.file("deployer-\(round).json"), held = directory.file("held-\(round)")
                let deployer = try Self.startDeployer(
                    Self.deployerArguments(path, endpoint: daemonProcess.endpoint, owner: "fault\(round)", seconds: 2)
                        + ["--hold-after-deploy", "\([5, 6, 8, 9][round]):\(held)"],   // not a 7th: the daemon refuses those (--refuse-every 7)
                    output: output)
                while !FileManager.default.fileExists(atPath: held) && deployer.isRunning { usleep(2_000) }
                var holder: Process?
                if fault == "full disk" {
                    disk.fill()
                } else {
                    try? FileManager.default.removeItem(atPath: directory.file("holding"))   // the holder's "ready" file, from an earlier round
                    holder = try ConcurrencyTests.holdWriteLock(path, seconds: 1, in: directory)
                }
                try FileManager.default.removeItem(atPath: held)   // complete now meets the fault
                Thread.sleep(forTimeInterval: 0.6)
                disk.release()
                holder?.waitUntilExit()
                deployer.waitUntilExit()
                #expect(deployer.terminationStatus == 0, "\(label): the deployer exited \(deployer.terminationStatus)")
                let report = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: output))) as? [String: Any]
                let calls = report?["storeFailuresByCall"] as? [String: Int] ?? [:]
                for (call, count) in calls { byCall[call, default: 0] += count }
                #expect((calls["complete"] ?? 0) >= 1, "\(label): complete did not fail: \(calls)")
                _ = try Self.repairUntilSettled(path, config: config, label: label)
                try Self.expectEverythingAccountedFor(path, daemon: daemon, label: label)
                adoptedAfter.append(try DatabaseQueue(path: path).read { try Int.fetchOne($0, sql: "SELECT count(*) FROM provision_intents WHERE state = 'adopted'") ?? 0 })
            }
            #expect((adoptedAfter.last ?? 0) >= 4, "each failed complete's VM is adopted: \(adoptedAfter)")
            print("intent store-write faults: 4 rounds (full disk, held lock); failed store calls \(byCall); adopted so far after each round \(adoptedAfter); every daemon VM recorded after repair")
        }
    }

    /// v3 → v4 online under a deployer shipped before it (`--create-path auto`: plain provisions
    /// while the store sees v3, intents from the transaction after the one that saw v4): no write
    /// fails, and every VM the daemon created is recorded.
    @Test func v3ToV4OnlineUnderADeployerThatTakesUpIntentsByItself() async throws {
        try await offThePool {
            let directory = try TemporaryDirectory("intent-upgrade")
            let path = try Fixtures.database(version: 3, in: directory)
            try DatabaseQueue(path: path).writeWithoutTransaction { try $0.execute(sql: "PRAGMA journal_mode = WAL") }
            let (daemonProcess, daemon, _) = try Self.startDaemon(in: directory, dropAnswerEvery: 0)
            defer { daemonProcess.stop() }
            let output = directory.file("deployer.json"), stop = directory.file("stop")
            let deployer = try Self.startDeployer(
                ["deployer", "--db", path, "--daemon", daemonProcess.endpoint, "--network", "main", "--create-path", "auto",
                 "--rate", "50", "--seconds", "120", "--busy-timeout", "1", "--lease-seconds", "30", "--owner", "upgrade", "--stop-file", stop],
                output: output)
            Thread.sleep(forTimeInterval: 1.5)
            let migrate = try VMDBProcess.run(["migrate", "--db", path, "--online", "--no-backup"])
            #expect(migrate.exitCode == 0, "\(migrate.standardError)")
            Thread.sleep(forTimeInterval: 1.5)
            _ = FileManager.default.createFile(atPath: stop, contents: nil)
            deployer.waitUntilExit()
            #expect(deployer.terminationStatus == 0)
            let report = try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: output))) as? [String: Any])
            #expect((report["storeFailures"] as? [String: Int])?.isEmpty == true, "failed writes: \(report["failures"] ?? "")")
            #expect(report["answersLost"] as? Int == 0)
            #expect(report["versionsSeen"] as? [Int] == [3, 4])
            let plainly = report["recordedPlainly"] as? Int ?? 0, throughIntents = report["recordedThroughIntents"] as? Int ?? 0
            #expect(plainly > 0 && throughIntents > 0, "plain \(plainly), intents \(throughIntents)")
            try Self.expectEverythingAccountedFor(path, daemon: daemon, label: "upgrade")
            let intents = try DatabaseQueue(path: path).read { try Int.fetchOne($0, sql: "SELECT count(*) FROM provision_intents WHERE state = 'recorded'") }
            #expect(intents == throughIntents)
            print("intent upgrade: migrate --online v3 → v4 in \(String(format: "%.2f", migrate.seconds)) s under the deployer; \(plainly) plain provisions on v3, then \(throughIntents) through intents from provision \(report["firstIntentProvision"] ?? "?"); 0 failed writes")
        }
    }
}
