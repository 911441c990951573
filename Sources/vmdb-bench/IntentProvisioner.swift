import Foundation
import VMRepair
import VMStore

/// The create path against a real daemon, for `vmdb-bench deployer --daemon`: each tick
/// provisions one VM, through intents (begin, `deploy_vm`, complete) or, for
/// comparison, plainly (`deploy_vm`, then provision).
///
/// A failure between the calls is not retried: the intent stays pending, which is
/// what `vmdb repair` resolves (the crash tests count on it). `--kill-at` SIGKILLs
/// the process itself at an exact point of the N-th provision.
struct IntentProvisioner {
    /// `auto`: intents once the store has seen v4, plain before (a deployer shipped before the
    /// upgrade to v4: it keeps provisioning through `vmdb migrate --online` and uses intents from
    /// the transaction after the one that saw v4).
    enum Path: String { case intents, plain, auto }

    /// Where the process kills itself: after the N-th begin that commits (before the
    /// daemon is called), or after the N-th daemon answer (before complete). Counted
    /// when reached, so a provision whose begin failed or whose answer was lost does not count.
    struct KillPoint {
        enum Step: String { case afterBegin = "after-begin", afterDeploy = "after-deploy" }
        let step: Step
        let provision: Int

        init?(_ text: String) {
            let parts = text.split(separator: ":")
            guard parts.count == 2, let step = Step(rawValue: String(parts[0])), let provision = Int(parts[1]), provision > 0 else { return nil }
            (self.step, self.provision) = (step, provision)
        }
    }

    struct Report: Codable {
        var path = ""
        var attempted = 0
        var recorded = 0
        /// The daemon said no: the intent was failed.
        var refused = 0
        /// The daemon's answer never came (a dropped connection, a timeout): left pending.
        var answersLost = 0
        /// A store write failed (full disk, busy), by error code: left for repair.
        var storeFailures: [String: Int] = [:]
        /// The same, by the call that failed (begin, complete, fail, provision).
        var storeFailuresByCall: [String: Int] = [:]
        var failures: [String] = []
        var latencyMilliseconds: [String: Double] = [:]
        /// The store's share of each recorded provision (begin and complete, or provision alone), daemon call left out.
        var storeMilliseconds: [String: Double] = [:]
        var seconds = 0.0
        var versionsSeen: [Int] = []
        /// Provisions recorded through intents, and plainly (with `auto`, before the store saw v4).
        var recordedThroughIntents = 0
        var recordedPlainly = 0
        /// The first provision that went through intents (1-based), with `auto`.
        var firstIntentProvision: Int?
    }

    let store: VMStore
    let daemon: DaemonConfiguration.Daemon
    let path: Path
    let owner: String
    let lease: Double
    let killAt: KillPoint?
    /// One in this many requests asks for more cores than any node has (the daemon refuses); 0: none.
    let refuseEvery: Int
    /// After this daemon answer (the N-th), the provisioner creates `file` and waits until it is
    /// gone before it completes: a test makes the store's write fail there (a full disk, a held lock).
    var holdAfterDeploy: (provision: Int, file: String)?
    /// How often each kill step was reached.
    private let reached = Counter()

    /// A count the provisioner keeps while it runs (a class: the provisioner is a value).
    private final class Counter {
        var counts: [KillPoint.Step: Int] = [:]
    }

    func run(rate: Double, seconds: Double, stopFile: String?) -> Report {
        var report = Report()
        report.path = path.rawValue
        var latencies: [Double] = []
        var storeTimes: [Double] = []
        let start = Date()
        var tick = 0
        while Date().timeIntervalSince(start) < seconds {
            if let stopFile, FileManager.default.fileExists(atPath: stopFile) { break }
            tick += 1
            report.attempted += 1
            let began = Date()
            let version = store.databaseSchemaVersion
            if report.versionsSeen.last != version { report.versionsSeen.append(version) }
            // Unique per run: the owner names the run, the tick the request.
            let requestID = "\(owner)-\(tick)"
            let cpu: Int64 = refuseEvery > 0 && tick % refuseEvery == 0 ? 128 : 1 + Int64(tick % 4)
            var call = "begin"
            do {
                var storeSeconds = 0.0
                if try provision(requestID: requestID, name: "vm-\(requestID)", cpu: cpu, tick: tick, call: &call,
                                 storeSeconds: &storeSeconds, report: &report) {
                    latencies.append(Date().timeIntervalSince(began) * 1000)
                    storeTimes.append(storeSeconds * 1000)
                }
            } catch let error as StoreError {
                report.storeFailures[error.code.description, default: 0] += 1
                report.storeFailuresByCall[call, default: 0] += 1
                if report.failures.count < 20 { report.failures.append("\(requestID): \(error)") }
            } catch {
                report.storeFailures["other", default: 0] += 1
                if report.failures.count < 20 { report.failures.append("\(requestID): \(error)") }
            }
            let next = start.addingTimeInterval(Double(tick) / rate)
            if next.timeIntervalSinceNow > 0 { Thread.sleep(until: next) }
        }
        report.seconds = Date().timeIntervalSince(start)
        func summary(_ values: [Double]) -> [String: Double] {
            let sorted = values.sorted()
            func percentile(_ p: Double) -> Double {
                sorted.isEmpty ? 0 : sorted[min(sorted.count - 1, Int((Double(sorted.count) * p).rounded(.down)))]
            }
            return ["p50": percentile(0.5), "p99": percentile(0.99), "max": sorted.last ?? 0]
        }
        report.latencyMilliseconds = summary(latencies)
        report.storeMilliseconds = summary(storeTimes)
        return report
    }

    /// One provision; true when the VM was recorded.
    private func provision(requestID: String, name: String, cpu: Int64, tick: Int, call: inout String, storeSeconds: inout Double,
                           report: inout Report) throws -> Bool {
        // The version the store saw in its last transaction: a file never goes back below v4 under it.
        let usesIntents = path == .intents || (path == .auto && store.databaseSchemaVersion >= VMStore.intentsVersion)
        func timed<T>(_ body: () throws -> T) rethrows -> T {
            let start = DispatchTime.now()
            defer { storeSeconds += Double(DispatchTime.now().uptimeNanoseconds - start.uptimeNanoseconds) / 1e9 }
            return try body()
        }
        let request = try ProvisionRequest(network: daemon.network, requestID: requestID, name: name, nodeID: 1 + Int64(tick % 5),
                                           cpu: cpu, memoryMB: 1024 * cpu, diskGB: 25)
        if usesIntents {
            if report.firstIntentProvision == nil { report.firstIntentProvision = tick }
            _ = try timed { try store.beginProvision(request, owner: owner, lease: lease) }
            killIfAsked(.afterBegin)
        }
        let answer: [String: Any]
        do {
            answer = try deploy(request)
        } catch let error as RepairError {
            report.answersLost += 1
            if report.failures.count < 20 { report.failures.append("\(requestID): \(error)") }
            return false
        }
        killIfAsked(.afterDeploy)
        if let hold = holdAfterDeploy, hold.provision == reached.counts[.afterDeploy] {
            _ = FileManager.default.createFile(atPath: hold.file, contents: nil)
            while FileManager.default.fileExists(atPath: hold.file) { usleep(2_000) }
        }
        if let refusal = answer["error"] as? [String: Any] {
            report.refused += 1
            call = "fail"
            if usesIntents {
                try store.failProvision(network: daemon.network, requestID: requestID, reason: "\(refusal["message"] ?? "refused")")
            }
            return false
        }
        guard let result = answer["result"] as? [String: Any], let vmID = result["vm_id"] as? String else {
            report.answersLost += 1
            return false
        }
        let vm = NewVM(identity: try VMIdentity(network: daemon.network, vmID: vmID), name: name, nodeID: request.nodeID,
                       status: .running, cpu: request.cpu, memoryMB: request.memoryMB, diskGB: request.diskGB)
        call = usesIntents ? "complete" : "provision"
        if usesIntents {
            _ = try timed { try store.completeProvision(requestID: requestID, vm: vm) }
            report.recordedThroughIntents += 1
        } else {
            _ = try timed { try store.provision(vm) }
            report.recordedPlainly += 1
        }
        report.recorded += 1
        return true
    }

    private func deploy(_ request: ProvisionRequest) throws -> [String: Any] {
        let params: [String: Any] = ["name": request.name, "request_id": request.requestID, "node_id": request.nodeID ?? 0,
                                     "cpu": request.cpu ?? 1, "memory_mb": request.memoryMB ?? 0, "disk_gb": request.diskGB ?? 0]
        let text = String(decoding: try JSONSerialization.data(withJSONObject: params, options: [.sortedKeys]), as: UTF8.self)
        let body = try DaemonClient().call("deploy_vm", params: text, on: daemon)
        guard let answer = try JSONSerialization.jsonObject(with: body) as? [String: Any] else {
            throw RepairError(.daemonUnavailable, "deploy_vm answered something that is not a JSON object")
        }
        return answer
    }

    private func killIfAsked(_ step: KillPoint.Step) {
        reached.counts[step, default: 0] += 1
        guard let killAt, killAt.step == step, killAt.provision == reached.counts[step] else { return }
        kill(getpid(), SIGKILL)
    }
}
