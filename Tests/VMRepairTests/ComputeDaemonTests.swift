import Foundation
import Testing
import VMDBTestSupport
import VMRepair

/// The test daemon's `.compute` behaviour, which the intent crash sweep relies on:
/// it keeps the name and request id it is given, lists them, treats a repeated
/// request id as the same create, refuses what no node can host, and can create a
/// VM and then drop the connection without answering.
@Suite struct ComputeDaemonTests {
    static func daemon(_ endpoint: String) throws -> DaemonConfiguration.Daemon {
        DaemonConfiguration.Daemon(network: "main", endpoint: try DaemonEndpoint(parsing: endpoint), timeout: 600)
    }

    static func object(_ data: Data) throws -> [String: Any] {
        try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
    }

    @Test func deployKeepsTheRequestIDListsItAndARepeatIsTheSameVM() throws {
        let directory = try TemporaryDirectory("compute")
        let process = try TestDaemon(.compute(network: "main"), on: .unixSocket(directory: directory.path), name: "compute")
        defer { process.stop() }
        let daemon = try Self.daemon(process.endpoint)
        let first = try Self.object(try DaemonClient().call("deploy_vm", params: #"{"name":"web-1","request_id":"req-1","cpu":2}"#, on: daemon))
        let vm = try #require(first["result"] as? [String: Any])
        let vmID = try #require(vm["vm_id"] as? String)
        #expect(vm["request_id"] as? String == "req-1" && vm["name"] as? String == "web-1")
        let again = try Self.object(try DaemonClient().call("deploy_vm", params: #"{"name":"web-1","request_id":"req-1","cpu":2}"#, on: daemon))
        #expect((again["result"] as? [String: Any])?["vm_id"] as? String == vmID)
        let refused = try Self.object(try DaemonClient().call("deploy_vm", params: #"{"name":"big","request_id":"req-2","cpu":128}"#, on: daemon))
        #expect((refused["error"] as? [String: Any])?["code"] as? Int == -32000)

        let listed = try Self.object(try DaemonClient().listVMs(from: daemon))
        let vms = try #require((listed["result"] as? [String: Any])?["vms"] as? [[String: Any]])
        #expect(vms.count == 1)
        #expect(vms.first?["vm_id"] as? String == vmID && vms.first?["request_id"] as? String == "req-1")
        #expect(process.methods == ["deploy_vm", "deploy_vm", "deploy_vm", "list_vms"])
    }

    @Test func aDroppedAnswerStillCreatesTheVM() throws {
        let process = try TestDaemon(.compute(network: "main", dropAnswerEvery: 2), on: .loopback, name: "compute")
        defer { process.stop() }
        let daemon = try Self.daemon(process.endpoint)
        _ = try DaemonClient().call("deploy_vm", params: #"{"name":"a","request_id":"req-a"}"#, on: daemon)
        let error = #expect(throws: RepairError.self) {
            try DaemonClient().call("deploy_vm", params: #"{"name":"b","request_id":"req-b"}"#, on: daemon)
        }
        #expect(error?.kind == .daemonUnavailable)
        let listed = try Self.object(try DaemonClient().listVMs(from: daemon))
        let vms = try #require((listed["result"] as? [String: Any])?["vms"] as? [[String: Any]])
        #expect(vms.compactMap { $0["request_id"] as? String } == ["req-a", "req-b"])
    }
}
