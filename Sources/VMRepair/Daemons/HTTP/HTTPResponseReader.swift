import Foundation

/// A daemon's HTTP/1.1 response: status, headers (names lower-cased) and body.
struct HTTPResponse: Equatable {
    var status: Int
    var reason: String
    var headers: [String: String]
    var body: [UInt8]
}

/// Reads one HTTP/1.x response from a byte stream: the status line, the
/// headers, then a body framed by `Transfer-Encoding: chunked`, by
/// `Content-Length`, or by the end of the connection (the request asks for
/// `Connection: close`).
///
/// `receive` returns the next bytes, or nil at the end of the stream; the
/// reader never trusts a length enough to allocate it up front.
struct HTTPResponseReader {
    /// The longest status line plus headers accepted, so garbage cannot grow memory without bound.
    static let headerLimit = 64 * 1024

    private var buffer: [UInt8] = []
    private var position = 0
    private var finished = false
    private let receive: () throws(HTTPFailure) -> [UInt8]?

    init(receive: @escaping () throws(HTTPFailure) -> [UInt8]?) {
        self.receive = receive
    }

    mutating func read() throws(HTTPFailure) -> HTTPResponse {
        let head = try readHead()
        var lines = head.split(separator: "\r\n", omittingEmptySubsequences: false).map(String.init)
        let statusLine = lines.removeFirst()
        let parts = statusLine.split(separator: " ", maxSplits: 2, omittingEmptySubsequences: false)
        guard parts.count >= 2, parts[0].hasPrefix("HTTP/1."), parts[1].count == 3, let status = Int(parts[1]) else {
            throw .notHTTP("the answer starts with \(Self.quote(statusLine)), not an HTTP/1.1 status line")
        }
        var headers: [String: String] = [:]
        for line in lines where !line.isEmpty {
            guard let colon = line.firstIndex(of: ":") else { throw .notHTTP("a header line without a colon: \(Self.quote(line))") }
            let name = line[..<colon].lowercased()
            let value = line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
            headers[name] = headers[name].map { $0 + ", " + value } ?? value
        }
        let body: [UInt8]
        if headers["transfer-encoding"]?.lowercased().contains("chunked") == true {
            body = try readChunked()
        } else if let length = headers["content-length"] {
            guard let count = Int(length), count >= 0 else { throw .notHTTP("Content-Length \(Self.quote(length)) is not a length") }
            body = try readExactly(count)
        } else {
            body = try readToEnd()
        }
        return HTTPResponse(status: status, reason: parts.count > 2 ? String(parts[2]) : "", headers: headers, body: body)
    }

    // MARK: Framing

    private mutating func readHead() throws(HTTPFailure) -> String {
        let terminator: [UInt8] = [13, 10, 13, 10]
        var searchFrom = 0
        while true {
            if let end = Self.find(terminator, in: buffer, from: searchFrom) {
                let head = String(decoding: buffer[..<end], as: UTF8.self)
                position = end + terminator.count
                return head
            }
            guard buffer.count <= Self.headerLimit else { throw .notHTTP("no end of the headers within \(Self.headerLimit / 1024) KiB") }
            searchFrom = max(0, buffer.count - 3)
            guard try fill() else {
                if buffer.isEmpty { throw .closedEarly }
                guard buffer.starts(with: Array("HTTP/".utf8).prefix(buffer.count)) else {
                    throw .notHTTP("the answer starts with \(Self.quote(String(decoding: buffer.prefix(40), as: UTF8.self)))")
                }
                throw .closedEarly
            }
        }
    }

    private mutating func readChunked() throws(HTTPFailure) -> [UInt8] {
        var body: [UInt8] = []
        while true {
            let line = try readLine()
            let sizeText = line.split(separator: ";", maxSplits: 1).first.map { $0.trimmingCharacters(in: .whitespaces) } ?? ""
            guard let size = Int(sizeText, radix: 16), size >= 0 else { throw .notHTTP("a chunk size \(Self.quote(line)) is not hexadecimal") }
            if size == 0 {
                while try !readLine().isEmpty {}   // trailers
                return body
            }
            body += try readExactly(size)
            guard try readLine().isEmpty else { throw .notHTTP("a chunk is longer than its size says") }
        }
    }

    private mutating func readLine() throws(HTTPFailure) -> String {
        while true {
            if let end = Self.find([13, 10], in: buffer, from: position) {
                let line = String(decoding: buffer[position..<end], as: UTF8.self)
                position = end + 2
                return line
            }
            guard buffer.count - position <= Self.headerLimit else { throw .notHTTP("a chunk line longer than \(Self.headerLimit / 1024) KiB") }
            guard try fill() else { throw .closedEarly }
        }
    }

    private mutating func readExactly(_ count: Int) throws(HTTPFailure) -> [UInt8] {
        while buffer.count - position < count {
            guard try fill() else { throw .closedEarly }
        }
        defer { position += count }
        return Array(buffer[position..<(position + count)])
    }

    private mutating func readToEnd() throws(HTTPFailure) -> [UInt8] {
        while try fill() {}
        defer { position = buffer.count }
        return Array(buffer[position...])
    }

    /// Appends what arrives next; false at the end of the stream.
    private mutating func fill() throws(HTTPFailure) -> Bool {
        if finished { return false }
        // Drop what has been consumed, so a long body is not copied again and again.
        if position > 1 << 20 {
            buffer.removeFirst(position)
            position = 0
        }
        guard let more = try receive() else {
            finished = true
            return false
        }
        buffer += more
        return true
    }

    private static func find(_ needle: [UInt8], in haystack: [UInt8], from start: Int) -> Int? {
        guard haystack.count >= needle.count, start <= haystack.count - needle.count else { return nil }
        var index = start
        while index <= haystack.count - needle.count {
            if haystack[index] == needle[0] && haystack[index..<(index + needle.count)].elementsEqual(needle) { return index }
            index += 1
        }
        return nil
    }

    private static func quote(_ text: String) -> String {
        let shown = text.count > 60 ? String(text.prefix(60)) + "…" : text
        return "\"" + shown.unicodeScalars.map { $0.value < 0x20 || $0.value == 0x7F ? "\\u{\(String($0.value, radix: 16))}" : String($0) }.joined() + "\""
    }
}
