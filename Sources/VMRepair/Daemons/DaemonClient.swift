import Foundation

/// Asks a compute daemon for its VMs: one JSON-RPC 2.0 `list_vms` call,
/// `POST /rpc` over a Unix socket or HTTP, bounded by the daemon's timeout.
///
/// The exchange is plain HTTP/1.1 with `Connection: close` on a blocking
/// socket (``HTTPConnection``): repair needs one request per daemon, and a
/// blocking call on the caller's thread cannot starve the cooperative pool.
/// This type adds the address, the deadline, and errors that name the daemon
/// and its network.
public struct DaemonClient: Sendable {
    /// The JSON-RPC method that lists a daemon's VMs.
    public static let method = "list_vms"

    public init() {}

    /// The daemon's whole answer (the JSON-RPC response body), unparsed.
    ///
    /// - Throws: ``RepairError`` (`daemonUnavailable`) when the daemon cannot be
    ///   reached, does not answer within its timeout, or answers with an HTTP error.
    public func listVMs(from daemon: DaemonConfiguration.Daemon) throws(RepairError) -> Data {
        try call(Self.method, params: "{}", on: daemon)
    }

    /// One JSON-RPC 2.0 call (`params` is a JSON object's text), and the daemon's whole
    /// answer, unparsed: how the load generator deploys VMs through a daemon.
    ///
    /// - Throws: ``RepairError`` (`daemonUnavailable`), as ``listVMs(from:)``.
    package func call(_ method: String, params: String, on daemon: DaemonConfiguration.Daemon) throws(RepairError) -> Data {
        let deadline = DispatchTime.now() + daemon.timeout
        let response: HTTPResponse
        do throws(HTTPFailure) {
            let connection = switch daemon.endpoint {
            case .unixSocket(let path): try HTTPConnection(unixSocket: path, deadline: deadline)
            case .http(let host, let port, _): try HTTPConnection.tcp(host: host, port: port, deadline: deadline)
            }
            try connection.send(request(method, params: params, for: daemon.endpoint))
            var reader = HTTPResponseReader(receive: connection.receive)
            response = try reader.read()
        } catch .deadlineExceeded {
            throw RepairError(.daemonUnavailable, Self.describe(daemon) + String(format: ": no complete answer to %@ within %g s (the timeout). Check that the daemon is healthy, or raise timeout_seconds in the daemons config", method, daemon.timeout))
        } catch {
            throw RepairError(.daemonUnavailable, Self.describe(daemon) + ": \(Self.reason(for: error)). Check that the daemon runs and that the endpoint is right; nothing was changed")
        }
        let body = Data(response.body)
        guard response.status == 200 else {
            // A JSON-RPC error may come with an HTTP error status: let the caller read it.
            if Self.looksLikeJSON(body) && response.status >= 400 && response.status < 600 { return body }
            let type = response.headers["content-type"] ?? "no content type"
            throw RepairError(.daemonUnavailable, Self.describe(daemon) + ": answered HTTP \(response.status) \(response.reason) (\(type)) instead of a JSON-RPC result. Check the endpoint (it should be the daemon's /rpc)")
        }
        return body
    }

    /// The request bytes: `POST` with a JSON body, asking the daemon to close after answering.
    private func request(_ method: String, params: String, for endpoint: DaemonEndpoint) -> [UInt8] {
        let body = #"{"jsonrpc":"2.0","id":1,"method":"\#(method)","params":\#(params)}"#
        let head = "POST \(endpoint.rpcPath) HTTP/1.1\r\nHost: \(hostHeader(endpoint))\r\nContent-Type: application/json\r\n"
            + "Accept: application/json\r\nConnection: close\r\nContent-Length: \(body.utf8.count)\r\n\r\n"
        return Array((head + body).utf8)
    }

    /// "the daemon for network main at unix:///…": how every error starts.
    static func describe(_ daemon: DaemonConfiguration.Daemon) -> String {
        "the daemon for network \(daemon.network) at \(daemon.endpoint)"
    }

    private func hostHeader(_ endpoint: DaemonEndpoint) -> String {
        switch endpoint {
        case .unixSocket: "localhost"
        case .http(let host, let port, _): host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)"
        }
    }

    private static func looksLikeJSON(_ body: Data) -> Bool {
        body.first(where: { ![0x20, 0x0A, 0x0D, 0x09].contains($0) }) == UInt8(ascii: "{")
    }

    private static func reason(for failure: HTTPFailure) -> String {
        switch failure {
        case .cannotConnect(let message): "could not connect (\(message))"
        case .closedEarly: "could not connect, or the connection closed before a complete answer"
        case .notHTTP(let message): "answered something that is not HTTP (\(message))"
        case .deadlineExceeded: "timed out"
        case .io(let message): message
        }
    }
}
