import FlyingFox
import FlyingSocks
import Foundation

/// A real JSON-RPC 2.0 compute daemon for tests: an HTTP server answering
/// `POST /rpc` with `list_vms`, on a Unix socket or on 127.0.0.1, that can also
/// misbehave the ways real daemons do (slow, garbage, JSON-RPC errors, an HTML
/// error page from a proxy). Nothing is mocked: clients talk to it over sockets.
public final class TestDaemon: @unchecked Sendable {
    // @unchecked: `state` is only read and written under `lock`; the rest is immutable.

    /// How the daemon answers `list_vms`.
    public enum Behavior: Sendable {
        /// The VMs it runs, each a JSON object's text (kept byte for byte in the answer).
        /// `network`, when given, is stated in the result object (`{"network": …, "vms": […]}`).
        case inventory([String], network: String? = nil)
        /// The same inventory, answered only after `delay` seconds.
        case slow(delay: Double, [String])
        /// HTTP 200 with a body that is not JSON.
        case garbage
        /// A JSON-RPC error object instead of a result.
        case rpcError(code: Int, message: String)
        /// HTTP 502 with an HTML page, as a proxy answers for a dead backend.
        case html
    }

    /// Where the daemon listens.
    public enum Transport: Sendable, CustomStringConvertible {
        /// A socket file in `directory` (short, so it fits a Unix socket address).
        case unixSocket(directory: String)
        /// 127.0.0.1 on a free port.
        case loopback

        public var description: String {
            switch self {
            case .unixSocket: "unix socket"
            case .loopback: "loopback"
            }
        }
    }

    private struct State {
        var behavior: Behavior
        var requests = 0
        var methods: [String] = []
    }

    /// The endpoint to put in a daemons config: `unix:///…/daemon.sock` or `http://127.0.0.1:PORT/rpc`.
    public let endpoint: String
    private let server: HTTPServer
    private let task: Task<Void, any Error>
    private let lock = NSLock()
    private var state: State

    private init(endpoint: String, server: HTTPServer, task: Task<Void, any Error>, behavior: Behavior) {
        self.endpoint = endpoint
        self.server = server
        self.task = task
        self.state = State(behavior: behavior)
    }

    /// Starts a daemon and returns once it accepts connections.
    public static func start(_ behavior: Behavior, on transport: Transport, name: String = "daemon") async throws -> TestDaemon {
        let handler = Handler()
        let server: HTTPServer
        var socketPath: String?
        switch transport {
        case .unixSocket(let directory):
            let path = (directory as NSString).appendingPathComponent("\(name).sock")
            unlink(path)
            socketPath = path
            server = HTTPServer(address: sockaddr_un.unix(path: path), timeout: 60, logger: .disabled, handler: handler)
        case .loopback:
            server = HTTPServer(address: try sockaddr_in.inet(ip4: "127.0.0.1", port: 0), timeout: 60, logger: .disabled, handler: handler)
        }
        let task = Task { try await server.run() }
        try await server.waitUntilListening(timeout: 10)
        let endpoint: String
        if let socketPath {
            endpoint = "unix://\(socketPath)"
        } else if case .ip4(let host, let port) = await server.listeningAddress {
            endpoint = "http://\(host):\(port)/rpc"
        } else {
            task.cancel()
            throw SocketError.unsupportedAddress
        }
        let daemon = TestDaemon(endpoint: endpoint, server: server, task: task, behavior: behavior)
        handler.daemon.withLock { $0 = daemon }
        return daemon
    }

    /// An endpoint where no daemon listens (one was started there and stopped): a daemon that is down.
    public static func downEndpoint(on transport: Transport) async throws -> String {
        let daemon = try await start(.inventory([]), on: transport, name: "down")
        await daemon.stop()
        if case .unixSocket = transport, daemon.endpoint.hasPrefix("unix://") {
            unlink(String(daemon.endpoint.dropFirst("unix://".count)))
        }
        return daemon.endpoint
    }

    /// Changes how later requests are answered.
    public var behavior: Behavior {
        get { lock.withLock { state.behavior } }
        set { lock.withLock { state.behavior = newValue } }
    }

    /// How many requests reached `/rpc`.
    public var requestCount: Int { lock.withLock { state.requests } }

    /// The JSON-RPC methods called, in order.
    public var methods: [String] { lock.withLock { state.methods } }

    /// Stops listening and ends open connections (a slow answer in progress is cancelled).
    public func stop() async {
        await server.stop(timeout: 0)
        task.cancel()
    }

    // MARK: Answering

    fileprivate func answer(_ request: HTTPRequest) async -> HTTPResponse {
        guard request.method == .POST, request.path == "/rpc" else {
            return HTTPResponse(statusCode: .notFound, headers: [.contentType: "text/plain"], body: Data("not found\n".utf8))
        }
        let body = (try? await request.bodyData) ?? Data()
        let call = try? JSONSerialization.jsonObject(with: body) as? [String: Any]
        let method = call?["method"] as? String ?? ""
        let behavior = lock.withLock { () -> Behavior in
            state.requests += 1
            state.methods.append(method)
            return state.behavior
        }
        let id = Self.idText(call?["id"])
        guard let call, call["jsonrpc"] as? String == "2.0" else {
            return Self.json(#"{"jsonrpc":"2.0","id":null,"error":{"code":-32700,"message":"Parse error"}}"#)
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
        }
    }

    private static func result(_ vms: [String], network: String?, id: String) -> String {
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

    private static func json(_ text: String) -> HTTPResponse {
        HTTPResponse(statusCode: .ok, headers: [.contentType: "application/json"], body: Data(text.utf8))
    }

    /// Routes requests to the daemon once it exists (the server starts first).
    private final class Handler: HTTPHandler, @unchecked Sendable {
        // @unchecked: `daemon` is a lock-protected box, set once after start.
        let daemon = LockedBox<TestDaemon?>(nil)

        func handleRequest(_ request: HTTPRequest) async throws -> HTTPResponse {
            guard let daemon = daemon.withLock({ $0 }) else {
                return HTTPResponse(statusCode: .serviceUnavailable)
            }
            return await daemon.answer(request)
        }
    }
}

/// A value behind a lock.
final class LockedBox<Value>: @unchecked Sendable {
    // @unchecked: `value` is only touched under `lock`.
    private let lock = NSLock()
    private var value: Value

    init(_ value: Value) { self.value = value }

    func withLock<T>(_ body: (inout Value) throws -> T) rethrows -> T {
        try lock.withLock { try body(&value) }
    }
}
