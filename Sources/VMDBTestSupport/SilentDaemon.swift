import Foundation

/// A daemon that answers nothing useful, on a Unix socket, in a separate
/// process: it accepts the connection and reads the request, then either
/// closes without a byte (`.hangUp`) or answers HTTP 200 with an empty body
/// (`.emptyBody`). TestDaemon covers the answers that are wrong; this covers
/// the ones that are missing.
public final class SilentDaemon: Sendable {
    public enum Behavior: String, Sendable, CaseIterable {
        case hangUp
        case emptyBody
    }

    /// `unix:///…/silent.sock`, for a daemons config.
    public let endpoint: String
    private let process: Process

    private static let script = #"""
import os, socket, sys
path, behavior, ready = sys.argv[1], sys.argv[2], sys.argv[3]
server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
server.bind(path)
server.listen(8)
open(ready, "w").close()
while True:
    conn, _ = server.accept()
    conn.settimeout(5)
    data = b""
    try:
        while b"\r\n\r\n" not in data:
            chunk = conn.recv(65536)
            if not chunk: break
            data += chunk
    except OSError:
        pass
    if behavior == "emptyBody":
        conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
    conn.close()
"""#

    public init(_ behavior: Behavior, in directory: TemporaryDirectory) throws {
        let socketPath = directory.file("silent.sock")
        let ready = directory.file("silent.ready")
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["python3", "-c", Self.script, socketPath, behavior.rawValue, ready]
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        process.standardInput = FileHandle.nullDevice
        try process.run()
        let deadline = Date().addingTimeInterval(10)
        while !FileManager.default.fileExists(atPath: ready), Date() < deadline, process.isRunning { usleep(5_000) }
        self.process = process
        endpoint = "unix://\(socketPath)"
    }

    deinit {
        if process.isRunning { kill(process.processIdentifier, SIGKILL) }
        process.waitUntilExit()
    }
}
