import Crypto
import Foundation

/// Replaces users' data with stable fakes as a dump is written.
///
/// Kept: ids (`id`, `vm_id`, `*_id`), networks, statuses, kinds, versions,
/// timestamps (`at`, `*_at`), every number, every NULL, and vmdb's own tables.
/// Replaced: every other text (names, addresses, keys, flists, free text) and
/// blob. A fake is derived from an HMAC-SHA256 of the value under the key, so
/// the same input always gives the same fake within a capture (equal values
/// stay equal across tables and joins) and cannot be reversed without the key.
/// Shapes are kept: an IPv4 address stays one (octets of the same widths), an
/// IPv6 or mycelium address keeps its groups, JSON keeps its keys, layout,
/// numbers and literals with its string values replaced, and free text keeps
/// its length, case, digits-versus-letters and punctuation.
struct Anonymizer {
    private let key: SymmetricKey

    /// - Parameter key: the HMAC key; a fresh random one per capture, so fakes
    ///   cannot be matched against guesses computed with a known key.
    init(key: SymmetricKey = SymmetricKey(size: .bits256)) {
        self.key = key
    }

    private static let keptColumns: Set<String> = ["id", "vm_id", "network", "status", "kind", "at", "origin", "action"]

    /// Whether `column` of `table` is written as it is.
    static func keeps(table: String, column: String) -> Bool {
        let table = table.lowercased(), column = column.lowercased()
        if table.hasPrefix("vmdb_") || table.hasPrefix("sqlite_") { return true }
        if keptColumns.contains(column) { return true }
        return ["_id", "_at", "_status", "_version", "_network", "_kind"].contains { column.hasSuffix($0) }
    }

    func value(table: String, column: String, _ value: RawValue) -> RawValue {
        guard !Self.keeps(table: table, column: column) else { return value }
        switch value {
        case .null, .integer, .real: return value
        case .blob(let bytes): return .blob(fakeBytes(bytes))
        case .text(let bytes):
            guard let text = String(validating: bytes, as: UTF8.self) else { return .text(fakeBytes(bytes).map { 0x61 + $0 % 26 }) }
            return .text(Array(fakeText(text).utf8))
        }
    }

    /// A fake for one text value: address, JSON or free text by its shape.
    func fakeText(_ text: String) -> String {
        if let ipv4 = fakeIPv4(text) { return ipv4 }
        if let ipv6 = fakeIPv6(text) { return ipv6 }
        let trimmed = text.drop { $0.isWhitespace }
        if trimmed.first == "{" || trimmed.first == "[", let json = fakeJSON(text) { return json }
        var stream = KeyedStream(key: key, input: "text", text)
        var out = String.UnicodeScalarView()
        for scalar in text.unicodeScalars {
            switch scalar.value {
            case 0x61...0x7a: out.append(Unicode.Scalar(0x61 + stream.next() % 26))
            case 0x41...0x5a: out.append(Unicode.Scalar(0x41 + stream.next() % 26))
            case 0x30...0x39: out.append(Unicode.Scalar(0x30 + stream.next() % 10))
            case 0...0x7f: out.append(scalar)                       // punctuation, spaces, controls: the shape
            default: out.append(Unicode.Scalar(0x430 + UInt32(stream.next() % 32))!)   // any other letter or symbol: a Cyrillic letter
            }
        }
        return String(out)
    }

    /// `a.b.c.d` or `a.b.c.d/n`: each octet replaced by one of the same width, the prefix kept.
    private func fakeIPv4(_ text: String) -> String? {
        let parts = text.split(separator: "/", maxSplits: 1, omittingEmptySubsequences: false)
        let octets = parts[0].split(separator: ".", omittingEmptySubsequences: false)
        guard octets.count == 4, octets.allSatisfy({ (1...3).contains($0.count) && $0.allSatisfy(\.isASCII) && $0.allSatisfy(\.isNumber) }),
              parts.count == 1 || (parts[1].allSatisfy { $0.isASCII && $0.isNumber } && !parts[1].isEmpty) else { return nil }
        var stream = KeyedStream(key: key, input: "ipv4", text)
        let fakes = octets.map { octet -> String in
            let r = Int(stream.next()) << 8 | Int(stream.next())
            switch octet.count {
            case 1: return String(r % 10)
            case 2: return String(10 + r % 90)
            default: return String(100 + r % 156)
            }
        }
        return fakes.joined(separator: ".") + (parts.count == 2 ? "/" + parts[1] : "")
    }

    /// Hex groups separated by colons (IPv6, mycelium): each hex digit replaced, separators and prefix kept.
    private func fakeIPv6(_ text: String) -> String? {
        let address = text.split(separator: "/", maxSplits: 1, omittingEmptySubsequences: false)
        guard address[0].filter({ $0 == ":" }).count >= 2,
              address[0].allSatisfy({ $0.isHexDigit || $0 == ":" }) else { return nil }
        var stream = KeyedStream(key: key, input: "ipv6", text)
        let digits = Array("0123456789abcdef")
        let fake = String(address[0].map { $0.isHexDigit ? digits[Int(stream.next() % 16)] : $0 })
        return fake + (address.count == 2 ? "/" + address[1] : "")
    }

    /// JSON with every string value (not key) replaced, layout kept; nil when it is not well-formed enough.
    private func fakeJSON(_ text: String) -> String? {
        let scalars = Array(text.unicodeScalars)
        var out = String.UnicodeScalarView()
        var i = 0
        while i < scalars.count {
            guard scalars[i] == "\"" else { out.append(scalars[i]); i += 1; continue }
            // A string: read it, decoding escapes.
            var j = i + 1
            var decoded = String.UnicodeScalarView()
            var closed = false
            while j < scalars.count {
                let c = scalars[j]
                if c == "\"" { closed = true; break }
                if c == "\\" {
                    guard j + 1 < scalars.count else { return nil }
                    let e = scalars[j + 1]
                    switch e {
                    case "n": decoded.append("\n"); j += 2
                    case "t": decoded.append("\t"); j += 2
                    case "r": decoded.append("\r"); j += 2
                    case "b": decoded.append("\u{8}"); j += 2
                    case "f": decoded.append("\u{c}"); j += 2
                    case "u":
                        guard j + 5 < scalars.count, let code = UInt32(String(String.UnicodeScalarView(scalars[(j + 2)...(j + 5)])), radix: 16) else { return nil }
                        decoded.append(Unicode.Scalar(code) ?? "?")   // a lone surrogate becomes "?": it is replaced anyway
                        j += 6
                    default: decoded.append(e); j += 2
                    }
                    continue
                }
                decoded.append(c)
                j += 1
            }
            guard closed else { return nil }
            var k = j + 1
            while k < scalars.count, scalars[k].properties.isWhitespace { k += 1 }
            if k < scalars.count, scalars[k] == ":" {
                out.append(contentsOf: scalars[i...j])             // a key: kept as written
            } else {
                out.append("\"")
                out.append(contentsOf: Self.jsonEscaped(fakeText(String(decoded))).unicodeScalars)
                out.append("\"")
            }
            i = j + 1
        }
        return String(out)
    }

    private static func jsonEscaped(_ text: String) -> String {
        var out = ""
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\t": out += "\\t"
            case "\r": out += "\\r"
            case _ where scalar.value < 0x20: out += String(format: "\\u%04x", scalar.value)
            default: out.unicodeScalars.append(scalar)
            }
        }
        return out
    }

    private func fakeBytes(_ bytes: [UInt8]) -> [UInt8] {
        var stream = KeyedStream(key: key, input: "blob", bytes)
        return bytes.map { _ in stream.next() }
    }
}

/// Pseudo-random bytes from HMAC-SHA256(key, kind ‖ input ‖ counter): the same input gives the same bytes.
private struct KeyedStream {
    private let key: SymmetricKey
    private let seed: [UInt8]
    private var block: [UInt8] = []
    private var position = 0
    private var counter: UInt64 = 0

    init(key: SymmetricKey, input kind: String, _ text: String) {
        self.init(key: key, input: kind, Array(text.utf8))
    }

    init(key: SymmetricKey, input kind: String, _ bytes: [UInt8]) {
        self.key = key
        self.seed = Array(kind.utf8) + [0] + bytes
    }

    mutating func next() -> UInt8 {
        if position == block.count {
            var message = seed
            withUnsafeBytes(of: counter.bigEndian) { message += $0 }
            block = Array(HMAC<SHA256>.authenticationCode(for: message, using: key))
            counter += 1
            position = 0
        }
        defer { position += 1 }
        return block[position]
    }
}
