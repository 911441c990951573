import Foundation
import Testing
@testable import VMRepair

/// The daemon client's HTTP/1.1 response reader, fed the way a socket feeds it:
/// in pieces of any size.
@Suite("HTTP response reader")
struct HTTPResponseReaderTests {
    /// Reads `bytes` delivered in pieces of the given sizes (cycled), then the end of the stream.
    private func read(_ bytes: [UInt8], pieces: [Int] = [65536]) throws(HTTPFailure) -> HTTPResponse {
        var offset = 0, turn = 0
        var reader = HTTPResponseReader { () throws(HTTPFailure) -> [UInt8]? in
            guard offset < bytes.count else { return nil }
            let size = max(1, pieces[turn % pieces.count])
            turn += 1
            defer { offset = min(bytes.count, offset + size) }
            return Array(bytes[offset..<min(bytes.count, offset + size)])
        }
        return try reader.read()
    }

    private func bytes(_ text: String) -> [UInt8] { Array(text.utf8) }

    @Test("every framing gives the same body, whatever the piece sizes")
    func framingsAgree() throws {
        var random = SystemRandomNumberGenerator()
        for _ in 0..<200 {
            let body = (0..<Int.random(in: 0...5000, using: &random)).map { _ in UInt8.random(in: 0...255, using: &random) }
            let head = "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
            var chunked = bytes(head + "Transfer-Encoding: chunked\r\n\r\n")
            var rest = body[...]
            while !rest.isEmpty {
                let size = Int.random(in: 1...max(1, rest.count), using: &random)
                chunked += bytes(String(size, radix: 16) + ";ext=1\r\n") + rest.prefix(size) + bytes("\r\n")
                rest = rest.dropFirst(size)
            }
            chunked += bytes("0\r\nX-Trailer: yes\r\n\r\n")
            let framings = [
                bytes(head + "Content-Length: \(body.count)\r\n\r\n") + body,
                bytes(head + "\r\n") + body,
                chunked,
            ]
            let pieces = (0..<3).map { _ in Int.random(in: 1...700, using: &random) }
            for framed in framings {
                let response = try read(framed, pieces: pieces)
                #expect(response.status == 200 && response.reason == "OK")
                #expect(response.headers["content-type"] == "application/json")
                #expect(response.body == body)
            }
        }
    }

    @Test("a status other than 200 is read with its reason")
    func errorStatus() throws {
        let response = try read(bytes("HTTP/1.0 502 Bad Gateway\r\ncontent-length: 5\r\n\r\n<h1>x"), pieces: [1])
        #expect(response.status == 502 && response.reason == "Bad Gateway" && response.body == bytes("<h1>x"))
    }

    @Test("what is not HTTP is named as such", arguments: [
        "SSH-2.0-OpenSSH_9.2\r\n\r\n", "{\"jsonrpc\":\"2.0\"}", "HTTP/1.1 abc OK\r\n\r\n", "HTTP/1.1 200 OK\r\nno colon here\r\n\r\n",
        "HTTP/1.1 200 OK\r\nContent-Length: -4\r\n\r\n", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
    ])
    func notHTTP(_ text: String) {
        #expect {
            _ = try read(bytes(text))
        } throws: { error in
            if case HTTPFailure.notHTTP = error { return true }
            return false
        }
    }

    @Test("an answer cut short is a closed connection", arguments: [
        "", "HTTP/1.1 200 OK\r\nContent-Le", "HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n12345",
        "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nab",
    ])
    func cutShort(_ text: String) {
        #expect(throws: HTTPFailure.closedEarly) { _ = try read(bytes(text), pieces: [3]) }
    }

    @Test("headers that never end stop at the limit instead of growing memory")
    func headersWithoutEnd() {
        let endless = bytes("HTTP/1.1 200 OK\r\n") + [UInt8](repeating: UInt8(ascii: "a"), count: HTTPResponseReader.headerLimit + 10)
        #expect {
            _ = try read(endless, pieces: [4096])
        } throws: { error in
            if case HTTPFailure.notHTTP(let message) = error { return message.contains("64 KiB") }
            return false
        }
    }

    @Test("a socket path longer than a Unix address holds is named, not cut short")
    func aSocketPathTooLongIsNamed() {
        let path = "/tmp/" + String(repeating: "d", count: 120) + ".sock"
        let daemon = DaemonConfiguration.Daemon(network: "main", endpoint: .unixSocket(path: path), timeout: 1)
        #expect {
            _ = try DaemonClient().listVMs(from: daemon)
        } throws: { error in
            guard let error = error as? RepairError else { return false }
            return error.kind == .daemonUnavailable && error.message.contains("network main")
                && error.message.contains("longer than a Unix socket address allows (107 bytes)")
        }
    }
}
