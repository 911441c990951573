import FlyingFox
import FlyingSocks
import Foundation
import VMDBTestSupport

/// `vmdb-test-daemon`: the compute daemon the tests talk to, in its own process.
///
/// It runs apart from the test process on purpose: there, long synchronous
/// tests can occupy every thread of Swift's cooperative pool, and a daemon
/// served from that pool would stop answering (seen in CI as 10 s timeouts).
///
///     vmdb-test-daemon BEHAVIOR-JSON LOG-FILE (unix:PATH | loopback)
///
/// Prints its endpoint on one line once it accepts connections, appends each
/// JSON-RPC method it is asked for to LOG-FILE, and exits when its standard
/// input closes (the test that started it ended or died).
@main
enum Entrypoint {
    static func main() async {
        let arguments = CommandLine.arguments.dropFirst()
        guard arguments.count == 3,
              let behavior = try? JSONDecoder().decode(TestDaemon.Behavior.self, from: Data(arguments[arguments.startIndex].utf8))
        else {
            fail("usage: vmdb-test-daemon BEHAVIOR-JSON LOG-FILE (unix:PATH | loopback)")
        }
        let log = arguments[arguments.startIndex + 1]
        let place = arguments[arguments.startIndex + 2]
        exitWhenStandardInputCloses()

        let responder = RPCResponder(behavior: behavior, logPath: log)
        let server: HTTPServer
        var endpoint: String?
        do {
            if place.hasPrefix("unix:") {
                let path = String(place.dropFirst("unix:".count))
                unlink(path)
                endpoint = "unix://\(path)"
                server = HTTPServer(address: sockaddr_un.unix(path: path), timeout: 60, logger: .disabled, handler: responder)
            } else {
                server = HTTPServer(address: try sockaddr_in.inet(ip4: "127.0.0.1", port: 0), timeout: 60, logger: .disabled, handler: responder)
            }
            let serving = Task { try await server.run() }
            try await server.waitUntilListening(timeout: 10)
            if endpoint == nil, case .ip4(let host, let port) = await server.listeningAddress {
                endpoint = "http://\(host):\(port)/rpc"
            }
            guard let endpoint else { fail("vmdb-test-daemon: no address to listen on") }
            FileHandle.standardOutput.write(Data((endpoint + "\n").utf8))
            try await serving.value
        } catch {
            fail("vmdb-test-daemon: \(error)")
        }
    }

    /// The test keeps a pipe to our standard input open while it needs us.
    private static func exitWhenStandardInputCloses() {
        Thread {
            var byte: UInt8 = 0
            while read(STDIN_FILENO, &byte, 1) > 0 {}
            exit(0)
        }.start()
    }

    private static func fail(_ message: String) -> Never {
        FileHandle.standardError.write(Data((message + "\n").utf8))
        exit(2)
    }
}
