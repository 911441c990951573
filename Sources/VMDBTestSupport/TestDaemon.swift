import Foundation

/// A real JSON-RPC 2.0 compute daemon for tests: `vmdb-test-daemon` in its own
/// process, an HTTP server answering `POST /rpc` with `list_vms`, on a Unix
/// socket or on 127.0.0.1, that can also misbehave the ways real daemons do
/// (slow, garbage, JSON-RPC errors, an HTML error page from a proxy). Nothing
/// is mocked: clients talk to it over sockets.
///
/// Its own process, because a daemon served from the test process's
/// cooperative pool stops answering whenever long synchronous tests occupy
/// every thread of that pool (two on a 2-core machine).
public final class TestDaemon: @unchecked Sendable {
    // @unchecked: the Process and the pipe are only signalled, written to and waited on.

    /// How the daemon answers `list_vms`.
    public enum Behavior: Sendable, Codable {
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
        /// A daemon that creates VMs: `deploy_vm` (params `name`, `request_id`, `node_id`,
        /// `cpu`, `memory_mb`, `disk_gb`) creates one with an id it picks, keeps the name and
        /// request id, and answers `{"vm_id": …, …}`; `list_vms` lists every VM it created,
        /// with `request_id`. The same request id again returns the same VM (AWS's
        /// `ClientToken`). A `cpu` above 64 is refused (a JSON-RPC error, nothing created).
        /// Every `dropAnswerEvery`-th deploy (0: none) creates the VM and then drops the
        /// connection without answering (the headers are sent, the body never is).
        case compute(network: String?, dropAnswerEvery: Int = 0)
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

    /// The endpoint to put in a daemons config: `unix:///…/daemon.sock` or `http://127.0.0.1:PORT/rpc`.
    public let endpoint: String
    private let process: Process
    /// Held open while the daemon should live: it exits when this closes, even if the test process dies.
    private let lifeline: Pipe
    private let folder: TemporaryDirectory

    /// Starts a daemon and returns once it accepts connections.
    public init(_ behavior: Behavior, on transport: Transport, name: String = "daemon") throws {
        folder = try TemporaryDirectory("daemon")
        let log = folder.file("requests.log")
        _ = FileManager.default.createFile(atPath: log, contents: nil)
        let place: String
        switch transport {
        case .unixSocket(let directory): place = "unix:" + (directory as NSString).appendingPathComponent("\(name).sock")
        case .loopback: place = "loopback"
        }
        let output = Pipe()
        lifeline = Pipe()
        process = Process()
        process.executableURL = URL(fileURLWithPath: VMDBProcess.builtExecutable("vmdb-test-daemon"))
        process.arguments = [String(decoding: try JSONEncoder().encode(behavior), as: UTF8.self), log, place]
        process.standardInput = lifeline
        process.standardOutput = output
        _ = FileManager.default.createFile(atPath: folder.file("stderr"), contents: nil)
        process.standardError = FileHandle(forWritingAtPath: folder.file("stderr")) ?? FileHandle.nullDevice
        try process.run()
        // The first line it prints is its endpoint; end of file means it failed to start.
        var line = Data()
        while !line.contains(UInt8(ascii: "\n")) {
            let chunk = output.fileHandleForReading.availableData
            if chunk.isEmpty { break }
            line.append(chunk)
        }
        guard let text = String(data: line, encoding: .utf8), text.hasSuffix("\n") else {
            process.waitUntilExit()
            let reason = (try? String(contentsOfFile: folder.file("stderr"), encoding: .utf8)) ?? ""
            throw CocoaError(.executableLoad, userInfo: [NSLocalizedDescriptionKey: "vmdb-test-daemon did not start: \(reason)"])
        }
        endpoint = String(text.dropLast())
    }

    /// An endpoint where no daemon listens (one was started there and stopped): a daemon that is down.
    public static func downEndpoint(on transport: Transport) throws -> String {
        let daemon = try TestDaemon(.inventory([]), on: transport, name: "down")
        daemon.stop()
        if daemon.endpoint.hasPrefix("unix://") {
            unlink(String(daemon.endpoint.dropFirst("unix://".count)))
        }
        return daemon.endpoint
    }

    /// The JSON-RPC methods called, in order.
    public var methods: [String] {
        let log = (try? String(contentsOfFile: folder.file("requests.log"), encoding: .utf8)) ?? ""
        return log.split(separator: "\n", omittingEmptySubsequences: false).dropLast().map(String.init)
    }

    /// How many requests reached `/rpc`.
    public var requestCount: Int { methods.count }

    /// Stops the daemon (a slow answer in progress is cut off) and waits for it to end.
    public func stop() {
        if process.isRunning { kill(process.processIdentifier, SIGKILL) }
        process.waitUntilExit()
    }

    deinit {
        stop()
        try? lifeline.fileHandleForWriting.close()
    }
}
