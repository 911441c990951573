import Foundation

/// Where a compute daemon answers JSON-RPC: `POST <path>` over a Unix socket or HTTP.
public enum DaemonEndpoint: Sendable, Hashable, CustomStringConvertible {
    /// A Unix-domain socket; requests go to `POST /rpc`.
    case unixSocket(path: String)
    /// HTTP over TCP to `host:port`, requests to `POST path`.
    case http(host: String, port: UInt16, path: String)

    /// The path daemons answer on when an endpoint does not give one.
    public static let defaultRPCPath = "/rpc"

    /// Parses `unix:///run/compute.sock`, an absolute socket path, or `http://host:port[/path]`.
    ///
    /// - Parameter relativeTo: the folder that relative socket paths are taken from (the config's).
    /// - Throws: ``RepairError`` (`malformedInput`) naming what is wrong.
    public init(parsing text: String, relativeTo folder: String? = nil) throws {
        func socket(_ path: String) throws -> DaemonEndpoint {
            guard !path.isEmpty else { throw RepairError(.malformedInput, "endpoint \(text) names no socket path: write unix:///path/to/daemon.sock") }
            if path.hasPrefix("/") || folder == nil { return .unixSocket(path: path) }
            return .unixSocket(path: ((folder! as NSString).appendingPathComponent(path) as NSString).standardizingPath)
        }
        if text.hasPrefix("unix://") {
            self = try socket(String(text.dropFirst("unix://".count)))
        } else if text.hasPrefix("unix:") {
            self = try socket(String(text.dropFirst("unix:".count)))
        } else if text.hasPrefix("/") {
            self = .unixSocket(path: text)
        } else if text.hasPrefix("http://") {
            guard let components = URLComponents(string: text), let host = components.host, !host.isEmpty else {
                throw RepairError(.malformedInput, "endpoint \(text) is not a valid URL: write http://HOST:PORT/rpc")
            }
            guard let port = components.port, (1...65535).contains(port) else {
                throw RepairError(.malformedInput, "endpoint \(text) gives no port: write http://HOST:PORT/rpc")
            }
            let path = components.percentEncodedPath.isEmpty ? Self.defaultRPCPath : components.percentEncodedPath
            self = .http(host: host, port: UInt16(port), path: path)
        } else if text.hasPrefix("https://") {
            throw RepairError(.malformedInput, "endpoint \(text) uses https, which vmdb repair does not speak: reach the daemon over its Unix socket (unix:///path) or plain http on a private address")
        } else {
            throw RepairError(.malformedInput, "endpoint \(text) is neither unix:///path/to/socket nor http://HOST:PORT/rpc")
        }
    }

    /// The request path.
    var rpcPath: String {
        switch self {
        case .unixSocket: Self.defaultRPCPath
        case .http(_, _, let path): path
        }
    }

    public var description: String {
        switch self {
        case .unixSocket(let path): "unix://\(path)"
        case .http(let host, let port, let path): "http://\(host.contains(":") ? "[\(host)]" : host):\(port)\(path)"
        }
    }
}
