import FlyingFox
import FlyingSocks
import Foundation

/// The VMs a `.compute` test daemon created, in memory: they live as long as the
/// daemon process, which outlives the deployers a crash test kills.
actor ComputeState {
    private var vms: [[String: Any]] = []
    private var byRequestID: [String: Int] = [:]
    private var deploys = 0

    func answer(method: String, params: [String: Any], id: String, network: String?, dropAnswerEvery: Int) -> HTTPResponse {
        switch method {
        case "list_vms":
            let texts = vms.map { Self.text($0) }
            return RPCResponder.json(RPCResponder.result(texts, network: network, id: id))
        case "deploy_vm":
            return deploy(params, id: id, dropAnswerEvery: dropAnswerEvery)
        default:
            return RPCResponder.json(#"{"jsonrpc":"2.0","id":\#(id),"error":{"code":-32601,"message":"Method not found"}}"#)
        }
    }

    private func deploy(_ params: [String: Any], id: String, dropAnswerEvery: Int) -> HTTPResponse {
        guard let name = params["name"] as? String else {
            return RPCResponder.json(#"{"jsonrpc":"2.0","id":\#(id),"error":{"code":-32602,"message":"deploy_vm needs a name"}}"#)
        }
        if let cpu = params["cpu"] as? Int, cpu > 64 {
            return RPCResponder.json(#"{"jsonrpc":"2.0","id":\#(id),"error":{"code":-32000,"message":"no node has that many cores"}}"#)
        }
        let requestID = params["request_id"] as? String
        let vm: [String: Any]
        if let requestID, let index = byRequestID[requestID] {
            vm = vms[index]   // the same request again: the same VM
        } else {
            var created: [String: Any] = ["vm_id": "c" + String(vms.count + 1, radix: 36), "name": name, "status": "running"]
            for key in ["request_id", "node_id", "cpu", "memory_mb", "disk_gb"] { created[key] = params[key] }
            if let requestID { byRequestID[requestID] = vms.count }
            vms.append(created)
            vm = created
        }
        deploys += 1
        if dropAnswerEvery > 0, deploys % dropAnswerEvery == 0 {
            // Created, and the answer is lost: the headers promise a body that never comes.
            return HTTPResponse(statusCode: .ok, headers: [.contentType: "application/json"],
                                body: HTTPBodySequence(from: DroppedAnswer(), count: 64))
        }
        return RPCResponder.json(#"{"jsonrpc":"2.0","id":\#(id),"result":\#(Self.text(vm))}"#)
    }

    private static func text(_ vm: [String: Any]) -> String {
        String(decoding: (try? JSONSerialization.data(withJSONObject: vm, options: [.sortedKeys])) ?? Data("{}".utf8), as: UTF8.self)
    }
}

/// A body that fails before its first byte: FlyingFox then closes the connection.
struct DroppedAnswer: AsyncBufferedSequence {
    typealias Element = UInt8

    struct AsyncIterator: AsyncBufferedIteratorProtocol {
        mutating func next() async throws -> UInt8? { throw CancellationError() }
        mutating func nextBuffer(suggested count: Int) async throws -> [UInt8]? { throw CancellationError() }
    }

    func makeAsyncIterator() -> AsyncIterator { AsyncIterator() }
}
