import Foundation

/// A pull reader over JSON text that arrives in chunks (a file read piece by
/// piece, or a daemon's answer), so an inventory of a million VMs is read in
/// constant memory: only the current chunk is held. Entries are remembered by
/// their byte range in the document, and their text is read back only when needed.
///
/// It validates what it reads (RFC 8259 grammar, UTF-8, no raw control
/// characters in strings) and reports the byte offset of the first problem.
struct JSONByteReader {
    /// Fills the buffer from its start and returns how many bytes it wrote; 0 at the end.
    typealias Fill = (inout [UInt8]) throws -> Int

    struct SyntaxError: Error, CustomStringConvertible {
        let offset: Int
        let reason: String
        var description: String { "\(reason) at byte \(offset)" }
    }

    /// Nesting deeper than this is refused rather than recursed into.
    static let maximumDepth = 256

    private var buffer: [UInt8]
    private var position = 0
    private var end = 0
    private var isExhausted = false
    private let fill: Fill
    /// Bytes consumed before the current buffer started.
    private var consumedBefore = 0
    private var scratch: [UInt8] = []

    init(chunkSize: Int = 1 << 20, fill: @escaping Fill) {
        buffer = [UInt8](repeating: 0, count: chunkSize)
        self.fill = fill
    }

    /// A reader over bytes already in memory (a daemon's answer), copied chunk by chunk.
    init(data: Data, chunkSize: Int = 1 << 20) {
        var offset = data.startIndex
        self.init(chunkSize: chunkSize) { buffer in
            let count = min(buffer.count, data.endIndex - offset)
            guard count > 0 else { return 0 }
            buffer.withUnsafeMutableBytes { target in
                data.copyBytes(to: target.bindMemory(to: UInt8.self), from: offset..<(offset + count))
            }
            offset += count
            return count
        }
    }

    /// The offset of the next byte, for error messages.
    var offset: Int { consumedBefore + position }

    func error(_ reason: String) -> SyntaxError { SyntaxError(offset: offset, reason: reason) }

    // MARK: Bytes

    private mutating func refill() throws -> Bool {
        if isExhausted { return false }
        consumedBefore += end
        position = 0
        end = try fill(&buffer)
        if end == 0 {
            isExhausted = true
            return false
        }
        return true
    }

    /// The next byte without consuming it; nil at the end of the input.
    @inline(__always)
    mutating func peekByte() throws -> UInt8? {
        if position == end, !(try refill()) { return nil }
        return buffer[position]
    }

    @inline(__always)
    private mutating func nextByte() throws -> UInt8 {
        if position == end, !(try refill()) { throw error("unexpected end of the input") }
        let byte = buffer[position]
        position += 1
        return byte
    }

    /// The next byte that is not whitespace, without consuming it.
    @inline(__always)
    mutating func peekToken() throws -> UInt8? {
        while true {
            if position == end, !(try refill()) { return nil }
            let byte = buffer[position]
            if byte == 0x20 || byte == 0x0A || byte == 0x0D || byte == 0x09 {
                position += 1
            } else {
                return byte
            }
        }
    }

    /// Consumes `byte` (after whitespace) or throws naming what was expected.
    mutating func expect(_ byte: UInt8, _ what: String) throws {
        guard try peekToken() == byte else {
            throw error(try peekToken().map { "expected \(what), found '\(Self.printable($0))'" } ?? "expected \(what), found the end of the input")
        }
        position += 1
    }

    /// Consumes `byte` when it comes next (after whitespace).
    mutating func consume(_ byte: UInt8) throws -> Bool {
        guard try peekToken() == byte else { return false }
        position += 1
        return true
    }

    /// Throws unless only whitespace remains.
    mutating func expectEnd() throws {
        if let byte = try peekToken() {
            throw error("unexpected '\(Self.printable(byte))' after the end of the JSON document")
        }
    }

    // MARK: Values

    /// What a scalar value was, as text (numbers keep the daemon's spelling).
    enum Scalar: Equatable {
        case string(String)
        case number(String)
        case bool(Bool)
        case null
        /// An object or array: skipped (validated); its text stays in the entry's byte range.
        case composite

        /// The text a comparison uses: strings and numbers; nil for the rest.
        var text: String? {
            switch self {
            case .string(let text), .number(let text): text
            case .bool, .null, .composite: nil
            }
        }
    }

    /// Reads one value; objects and arrays are validated and skipped.
    mutating func readValue(depth: Int = 0) throws -> Scalar {
        try readValue(depth: depth, decoding: true)
    }

    /// Validates and skips any value, building no string.
    mutating func skipValue(depth: Int = 0) throws {
        _ = try readValue(depth: depth, decoding: false)
    }

    private mutating func readValue(depth: Int, decoding: Bool) throws -> Scalar {
        guard let byte = try peekToken() else { throw error("expected a value, found the end of the input") }
        switch byte {
        case UInt8(ascii: "\""):
            if decoding { return .string(try readString()) }
            try skipString()
            return .composite
        case UInt8(ascii: "{"), UInt8(ascii: "["):
            try skipComposite(depth: depth)
            return .composite
        case UInt8(ascii: "t"): try literal("true"); return .bool(true)
        case UInt8(ascii: "f"): try literal("false"); return .bool(false)
        case UInt8(ascii: "n"): try literal("null"); return .null
        case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"):
            try readNumberBytes()
            return decoding ? .number(String(decoding: scratch, as: UTF8.self)) : .composite
        default: throw error("expected a value, found '\(Self.printable(byte))'")
        }
    }

    private mutating func skipComposite(depth: Int) throws {
        guard depth < Self.maximumDepth else { throw error("nesting deeper than \(Self.maximumDepth) levels") }
        let open = try nextByte()
        if open == UInt8(ascii: "{") {
            if try consume(UInt8(ascii: "}")) { return }
            repeat {
                guard try peekToken() == UInt8(ascii: "\"") else { throw error("expected a member name in quotes") }
                try skipString()
                try expect(UInt8(ascii: ":"), "':' after a member name")
                try skipValue(depth: depth + 1)
            } while try consume(UInt8(ascii: ","))
            try expect(UInt8(ascii: "}"), "',' or '}' in an object")
        } else {
            if try consume(UInt8(ascii: "]")) { return }
            repeat {
                try skipValue(depth: depth + 1)
            } while try consume(UInt8(ascii: ","))
            try expect(UInt8(ascii: "]"), "',' or ']' in an array")
        }
    }

    private mutating func literal(_ word: String) throws {
        for expected in word.utf8 {
            guard try nextByte() == expected else { throw error("invalid literal (expected \(word))") }
        }
    }

    /// Reads a number's text (validated against the JSON grammar) into `scratch`.
    private mutating func readNumberBytes() throws {
        scratch.removeAll(keepingCapacity: true)
        func isDigit(_ byte: UInt8?) -> Bool { byte.map { $0 >= 0x30 && $0 <= 0x39 } ?? false }
        if try peekByte() == UInt8(ascii: "-") { scratch.append(try nextByte()) }
        guard isDigit(try peekByte()) else { throw error("invalid number") }
        if try peekByte() == UInt8(ascii: "0") {
            scratch.append(try nextByte())
            if isDigit(try peekByte()) { throw error("invalid number (leading zero)") }
        } else {
            while isDigit(try peekByte()) { scratch.append(try nextByte()) }
        }
        if try peekByte() == UInt8(ascii: ".") {
            scratch.append(try nextByte())
            guard isDigit(try peekByte()) else { throw error("invalid number (no digit after '.')") }
            while isDigit(try peekByte()) { scratch.append(try nextByte()) }
        }
        if let byte = try peekByte(), byte == UInt8(ascii: "e") || byte == UInt8(ascii: "E") {
            scratch.append(try nextByte())
            if let sign = try peekByte(), sign == UInt8(ascii: "+") || sign == UInt8(ascii: "-") { scratch.append(try nextByte()) }
            guard isDigit(try peekByte()) else { throw error("invalid number (no digit in the exponent)") }
            while isDigit(try peekByte()) { scratch.append(try nextByte()) }
        }
    }

    /// Reads a string and decodes its escapes. Invalid UTF-8 is refused, never repaired.
    mutating func readString() throws -> String {
        try readStringBytes()
        guard let text = Self.string(validating: scratch) else { throw error("a string is not valid UTF-8") }
        return text
    }

    /// The decoded bytes of the last string read by ``readStringBytes()``.
    var stringBytes: [UInt8] { scratch }

    /// Text from UTF-8 bytes, or nil when they are not valid UTF-8. (`String(decoding:)`
    /// repairs invalid input; comparing back detects a repair without the cost of
    /// `String(validating:)`'s generic path, which showed in profiles.)
    static func string(validating bytes: [UInt8]) -> String? {
        var text = String(decoding: bytes, as: UTF8.self)
        let isASCII = bytes.withUnsafeBufferPointer { buffer in buffer.allSatisfy { $0 < 0x80 } }
        if isASCII { return text }
        // Only non-ASCII text can have been repaired: compare the bytes back.
        let same = text.withUTF8 { utf8 in
            bytes.withUnsafeBufferPointer { original in
                utf8.count == original.count && (utf8.isEmpty || memcmp(utf8.baseAddress!, original.baseAddress!, utf8.count) == 0)
            }
        }
        return same ? text : nil
    }

    /// Reads a string into ``stringBytes``, escapes decoded, without making a `String`.
    mutating func readStringBytes() throws {
        try expect(UInt8(ascii: "\""), "a string")
        scratch.removeAll(keepingCapacity: true)
        while true {
            // Fast path: copy the run of plain bytes in the current chunk at once.
            if position == end, !(try refill()) { throw error("unterminated string") }
            var runEnd = position
            while runEnd < end {
                let byte = buffer[runEnd]
                if byte == UInt8(ascii: "\"") || byte == UInt8(ascii: "\\") || byte < 0x20 { break }
                runEnd += 1
            }
            scratch.append(contentsOf: buffer[position..<runEnd])
            position = runEnd
            if position == end { continue }
            let byte = buffer[position]
            position += 1
            if byte == UInt8(ascii: "\"") { break }
            if byte < 0x20 { throw error("control character in a string (it must be escaped)") }
            try decodeEscape()
        }
    }

    /// Validates and skips a string without decoding it. (Its UTF-8 is checked
    /// when an entry's text is read back to be kept: see ``InventoryEntryTexts``.)
    private mutating func skipString() throws {
        try expect(UInt8(ascii: "\""), "a string")
        while true {
            if position == end, !(try refill()) { throw error("unterminated string") }
            var runEnd = position
            while runEnd < end {
                let byte = buffer[runEnd]
                if byte == UInt8(ascii: "\"") || byte == UInt8(ascii: "\\") || byte < 0x20 { break }
                runEnd += 1
            }
            position = runEnd
            if position == end { continue }
            let byte = buffer[position]
            position += 1
            if byte == UInt8(ascii: "\"") { return }
            if byte < 0x20 { throw error("control character in a string (it must be escaped)") }
            let escaped = try nextByte()
            switch escaped {
            case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "/"), UInt8(ascii: "b"), UInt8(ascii: "f"),
                 UInt8(ascii: "n"), UInt8(ascii: "r"), UInt8(ascii: "t"):
                continue
            case UInt8(ascii: "u"):
                _ = try readHex4()
            default:
                throw error("invalid escape '\\\(Self.printable(escaped))' in a string")
            }
        }
    }

    private mutating func decodeEscape() throws {
        let byte = try nextByte()
        switch byte {
        case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "/"): scratch.append(byte)
        case UInt8(ascii: "b"): scratch.append(0x08)
        case UInt8(ascii: "f"): scratch.append(0x0C)
        case UInt8(ascii: "n"): scratch.append(0x0A)
        case UInt8(ascii: "r"): scratch.append(0x0D)
        case UInt8(ascii: "t"): scratch.append(0x09)
        case UInt8(ascii: "u"):
            var value = try readHex4()
            if (0xD800...0xDBFF).contains(value) {
                // A high surrogate must be followed by an escaped low one (RFC 8259 §7).
                guard try nextByte() == UInt8(ascii: "\\"), try nextByte() == UInt8(ascii: "u") else {
                    throw error("unpaired surrogate in a \\u escape")
                }
                let low = try readHex4()
                guard (0xDC00...0xDFFF).contains(low) else { throw error("unpaired surrogate in a \\u escape") }
                value = 0x10000 + ((value - 0xD800) << 10) + (low - 0xDC00)
            } else if (0xDC00...0xDFFF).contains(value) {
                throw error("unpaired surrogate in a \\u escape")
            }
            guard let scalar = Unicode.Scalar(value) else { throw error("invalid \\u escape") }
            scratch.append(contentsOf: Array(String(Character(scalar)).utf8))
        default:
            throw error("invalid escape '\\\(Self.printable(byte))' in a string")
        }
    }

    private mutating func readHex4() throws -> UInt32 {
        var value: UInt32 = 0
        for _ in 0..<4 {
            let byte = try nextByte()
            let digit: UInt8
            switch byte {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): digit = byte - UInt8(ascii: "0")
            case UInt8(ascii: "a")...UInt8(ascii: "f"): digit = byte - UInt8(ascii: "a") + 10
            case UInt8(ascii: "A")...UInt8(ascii: "F"): digit = byte - UInt8(ascii: "A") + 10
            default: throw error("invalid \\u escape")
            }
            value = value << 4 | UInt32(digit)
        }
        return value
    }

    static func printable(_ byte: UInt8) -> String {
        (0x21...0x7E).contains(byte) ? String(UnicodeScalar(byte)) : String(format: "0x%02X", byte)
    }
}
