import FlyingFox
import Foundation
import VMDBTestSupport

/// Answers `POST /rpc` the way the test asked: the inventory, slowly, or
/// wrongly (garbage, a JSON-RPC error, a proxy's HTML page).
struct RPCResponder: HTTPHandler {
    let behavior: TestDaemon.Behavior
    let logPath: String
    /// The VMs a `.compute` daemon created.
    let compute = ComputeState()

    func handleRequest(_ request: HTTPRequest) async throws -> HTTPResponse {
        guard request.method == .POST, request.path == "/rpc" else {
            return HTTPResponse(statusCode: .notFound, headers: [.contentType: "text/plain"], body: Data("not found\n".utf8))
        }
        let body = (try? await request.bodyData) ?? Data()
        let call = try? JSONSerialization.jsonObject(with: body) as? [String: Any]
        let method = call?["method"] as? String ?? ""
        record(method)
        let id = Self.idText(call?["id"])
        guard let call, call["jsonrpc"] as? String == "2.0" else {
            return Self.json(#"{"jsonrpc":"2.0","id":null,"error":{"code":-32700,"message":"Parse error"}}"#)
        }
        if case .compute(let network, let dropAnswerEvery) = behavior {
            return await compute.answer(method: method, params: call["params"] as? [String: Any] ?? [:], id: id,
                                        network: network, dropAnswerEvery: dropAnswerEvery)
        }
        guard method == "list_vms" else {
            return Self.json(#"{"jsonrpc":"2.0","id":\#(id),"error":{"code":-32601,"message":"Method not found"}}"#)
        }
        switch behavior {
        case .inventory(let vms, let network):
            return Self.json(Self.result(vms, network: network, id: id))
        case .slow(let delay, let vms):
            try? await Task.sleep(nanoseconds: UInt64(delay * 1_000_000_000))
            return Self.json(Self.result(vms, network: nil, id: id))
        case .garbage:
            return HTTPResponse(statusCode: .ok, headers: [.contentType: "application/json"],
                                body: Data("\u{1}\u{2}garbage: {not json [at all\n".utf8))
        case .rpcError(let code, let message):
            let answer: [String: Any] = ["jsonrpc": "2.0", "id": call["id"] ?? NSNull(), "error": ["code": code, "message": message]]
            return Self.json(String(decoding: (try? JSONSerialization.data(withJSONObject: answer)) ?? Data(), as: UTF8.self))
        case .html:
            return HTTPResponse(statusCode: HTTPStatusCode(502, phrase: "Bad Gateway"), headers: [.contentType: "text/html"],
                                body: Data("<html><head><title>502 Bad Gateway</title></head><body><h1>502 Bad Gateway</h1></body></html>\n".utf8))
        case .compute:
            return Self.json("")   // answered above
        }
    }

    /// One line per request, written before the answer, so the test sees it once its client has the answer.
    /// One `write` on an O_APPEND descriptor: concurrent requests cannot overwrite each other's line.
    private func record(_ method: String) {
        let descriptor = open(logPath, O_WRONLY | O_APPEND)
        guard descriptor >= 0 else { return }
        defer { close(descriptor) }
        let line = Array((method + "\n").utf8)
        _ = line.withUnsafeBytes { write(descriptor, $0.baseAddress, $0.count) }
    }

    static func result(_ vms: [String], network: String?, id: String) -> String {
        let list = "[" + vms.joined(separator: ",") + "]"
        guard let network else { return #"{"jsonrpc":"2.0","id":\#(id),"result":\#(list)}"# }
        return #"{"jsonrpc":"2.0","id":\#(id),"result":{"network":"\#(network)","vms":\#(list)}}"#
    }

    private static func idText(_ value: Any?) -> String {
        switch value {
        case let text as String: "\"\(text)\""
        case let number as NSNumber: number.stringValue
        default: "null"
        }
    }

    static func json(_ text: String) -> HTTPResponse {
        HTTPResponse(statusCode: .ok, headers: [.contentType: "application/json"], body: Data(text.utf8))
    }
}
