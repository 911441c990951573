import FlyingFox
import FlyingSocks
import Foundation

/// Asks a compute daemon for its VMs: one JSON-RPC 2.0 `list_vms` call,
/// `POST /rpc` over a Unix socket or HTTP, bounded by the daemon's timeout.
///
/// The HTTP exchange is FlyingFox's client; this type adds the address, the
/// deadline, and errors that name the daemon and its network.
public struct DaemonClient: Sendable {
    /// The JSON-RPC method that lists a daemon's VMs.
    public static let method = "list_vms"

    public init() {}

    /// The daemon's whole answer (the JSON-RPC response body), unparsed.
    ///
    /// - Throws: ``RepairError`` (`daemonUnavailable`) when the daemon cannot be
    ///   reached, does not answer within its timeout, or answers with an HTTP error.
    public func listVMs(from daemon: DaemonConfiguration.Daemon) async throws -> Data {
        let request = HTTPRequest(
            method: .POST, version: .http11, path: daemon.endpoint.rpcPath, query: [],
            headers: [.contentType: "application/json", .host: hostHeader(daemon.endpoint), .connection: "close",
                      HTTPHeader("Accept"): "application/json"],
            body: Data(#"{"jsonrpc":"2.0","id":1,"method":"list_vms","params":{}}"#.utf8))
        let response: HTTPResponse
        do {
            response = try await Self.withDeadline(seconds: daemon.timeout) {
                switch daemon.endpoint {
                case .unixSocket(let path):
                    guard path.utf8.count < 108 else {
                        throw RepairError(.daemonUnavailable, Self.describe(daemon) + ": the socket path is longer than a Unix socket address allows (107 bytes); use a shorter path or a symlink")
                    }
                    var client = HTTPClient()
                    return try await client.sendHTTPRequest(request, to: sockaddr_un.unix(path: path))
                case .http(let host, let port, _):
                    var client = HTTPClient()
                    switch try Self.resolve(host) {
                    case .v4(let ip): return try await client.sendHTTPRequest(request, to: sockaddr_in.inet(ip4: ip, port: port))
                    case .v6(let ip): return try await client.sendHTTPRequest(request, to: sockaddr_in6.inet6(ip6: ip, port: port))
                    }
                }
            }
        } catch let error as RepairError {
            throw error
        } catch is DeadlineExceeded {
            throw RepairError(.daemonUnavailable, Self.describe(daemon) + String(format: ": no complete answer to %@ within %g s (the timeout). Check that the daemon is healthy, or raise timeout_seconds in the daemons config", Self.method, daemon.timeout))
        } catch {
            throw RepairError(.daemonUnavailable, Self.describe(daemon) + ": \(Self.reason(for: error)). Check that the daemon runs and that the endpoint is right; nothing was changed")
        }
        let body = try await response.bodyData
        guard response.statusCode.code == 200 else {
            // A JSON-RPC error may come with an HTTP error status: let the caller read it.
            if Self.looksLikeJSON(body) && response.statusCode.code >= 400 && response.statusCode.code < 600 { return body }
            let type = response.headers[.contentType] ?? "no content type"
            throw RepairError(.daemonUnavailable, Self.describe(daemon) + ": answered HTTP \(response.statusCode.code) \(response.statusCode.phrase) (\(type)) instead of a JSON-RPC result. Check the endpoint (it should be the daemon's /rpc)")
        }
        return body
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

    private static func reason(for error: any Error) -> String {
        switch error {
        case SocketError.failed(let type, let code, let message):
            if type == "connect" || code == ECONNREFUSED || code == ENOENT {
                return "could not connect (\(message))"
            }
            return "\(type) failed (\(message))"
        case SocketError.disconnected:
            return "could not connect, or the connection closed before a complete answer"
        case SocketError.timeout(let message):
            return "timed out (\(message))"
        case let error as LocalizedError:
            return "answered something that is not HTTP (\(error.errorDescription ?? "\(error)"))"
        default:
            return "\(error)"
        }
    }

    // MARK: Deadline

    struct DeadlineExceeded: Error {}

    /// Runs `operation`, cancelling it when `seconds` pass first.
    static func withDeadline<T: Sendable>(seconds: Double, _ operation: @escaping @Sendable () async throws -> T) async throws -> T {
        try await withThrowingTaskGroup(of: T?.self) { group in
            group.addTask { try await operation() }
            group.addTask {
                try await Task.sleep(nanoseconds: UInt64(seconds * 1_000_000_000))
                return nil
            }
            defer { group.cancelAll() }
            guard let first = try await group.next(), let value = first else { throw DeadlineExceeded() }
            return value
        }
    }

    // MARK: Addresses

    enum IPAddress: Equatable { case v4(String), v6(String) }

    /// An IP literal as is; `localhost` and other names through the system resolver.
    static func resolve(_ host: String) throws -> IPAddress {
        let bare = host.hasPrefix("[") && host.hasSuffix("]") ? String(host.dropFirst().dropLast()) : host
        var v4 = in_addr(), v6 = in6_addr()
        if inet_pton(AF_INET, bare, &v4) == 1 { return .v4(bare) }
        if inet_pton(AF_INET6, bare, &v6) == 1 { return .v6(bare) }
        if bare == "localhost" { return .v4("127.0.0.1") }
        var hints = addrinfo()
        hints.ai_family = AF_INET
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        var result: UnsafeMutablePointer<addrinfo>?
        let status = getaddrinfo(bare, nil, &hints, &result)
        defer { if result != nil { freeaddrinfo(result) } }
        guard status == 0, let info = result, let address = info.pointee.ai_addr else {
            throw SocketError.failed(type: "resolve", errno: status, message: "cannot resolve host \(bare)")
        }
        var text = [CChar](repeating: 0, count: Int(INET_ADDRSTRLEN))
        var inet = address.withMemoryRebound(to: sockaddr_in.self, capacity: 1) { $0.pointee.sin_addr }
        inet_ntop(AF_INET, &inet, &text, socklen_t(text.count))
        return .v4(String(decoding: text.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self))
    }
}
