import Crypto
import Foundation

/// An order-independent content hash of a set of rows: each row's values are
/// encoded (type-tagged, length-prefixed) and hashed with SHA-256, and the digests
/// are added lane-wise modulo 2^64, so the same rows in any order hash equal, and
/// any changed, lost or added row changes the sum.
///
/// Written once for every engine: SQLite's rows (`ContentHasher` in SQLiteFiles)
/// and PostgreSQL's are encoded here from one canonical value model (null,
/// integer, real, text, blob), so "equal on both engines" is one function.
public struct ContentDigest: ~Copyable {
    /// The four 64-bit lane sums of the row digests. Sums, so the hash of a table is
    /// the hash of any split of its rows added up, and a part can be taken away again
    /// (the online path verifies most rows on a snapshot and the changed ones under the lock).
    public struct Lanes: Hashable, Sendable {
        public var values: (UInt64, UInt64, UInt64, UInt64) = (0, 0, 0, 0)

        public init(values: (UInt64, UInt64, UInt64, UInt64) = (0, 0, 0, 0)) { self.values = values }

        public static func == (a: Lanes, b: Lanes) -> Bool { a.hex == b.hex }
        public func hash(into hasher: inout Hasher) { hasher.combine(hex) }

        public static func + (a: Lanes, b: Lanes) -> Lanes {
            Lanes(values: (a.values.0 &+ b.values.0, a.values.1 &+ b.values.1, a.values.2 &+ b.values.2, a.values.3 &+ b.values.3))
        }

        public static func - (a: Lanes, b: Lanes) -> Lanes {
            Lanes(values: (a.values.0 &- b.values.0, a.values.1 &- b.values.1, a.values.2 &- b.values.2, a.values.3 &- b.values.3))
        }

        public var hex: String {
            [values.0, values.1, values.2, values.3].map { hex16($0.bigEndian) }.joined()
        }

        private func hex16(_ value: UInt64) -> String {
            let digits = String(value, radix: 16)
            return String(repeating: "0", count: 16 - digits.count) + digits
        }
    }

    /// Rows hashed and their lanes.
    public struct Result: Sendable, Hashable {
        public var rows: Int
        public var lanes: Lanes
        public var hash: String { lanes.hex }

        public init(rows: Int, lanes: Lanes) { self.rows = rows; self.lanes = lanes }

        public static let empty = Result(rows: 0, lanes: Lanes())
        public static func + (a: Result, b: Result) -> Result { Result(rows: a.rows + b.rows, lanes: a.lanes + b.lanes) }
        public static func - (a: Result, b: Result) -> Result { Result(rows: a.rows - b.rows, lanes: a.lanes - b.lanes) }
    }

    // One reusable byte buffer: a row is encoded into it and hashed in one call
    // (no per-value allocation on a million rows).
    @usableFromInline var buffer: RowBuffer
    @usableFromInline var lanes: (UInt64, UInt64, UInt64, UInt64) = (0, 0, 0, 0)
    @usableFromInline var rows = 0

    public init() { buffer = RowBuffer(capacity: 4096) }

    deinit { buffer.deallocate() }

    /// Rows hashed so far.
    public var rowCount: Int { rows }

    /// The digest so far.
    public var result: Result { Result(rows: rows, lanes: Lanes(values: lanes)) }

    // The row's values, in column order, between ``beginRow()`` and ``endRow()``.
    // The tags are the encoding's and never change: recorded hashes stay comparable.

    @inlinable public mutating func beginRow() { buffer.count = 0 }
    @inlinable public mutating func appendNull() { buffer.append(tag: 0) }
    @inlinable public mutating func appendInteger(_ value: Int64) { buffer.append(tag: 1, integer: UInt64(bitPattern: value)) }
    @inlinable public mutating func appendReal(_ value: Double) { buffer.append(tag: 2, integer: value.bitPattern) }
    @inlinable public mutating func appendText(_ bytes: UnsafeRawPointer?, count: Int) { buffer.append(tag: 3, bytes: bytes, count: count) }
    @inlinable public mutating func appendBlob(_ bytes: UnsafeRawPointer?, count: Int) { buffer.append(tag: 4, bytes: bytes, count: count) }

    /// A column's name before its value (a label is encoded as text).
    @inlinable public mutating func appendLabel(_ utf8: [UInt8]) {
        utf8.withUnsafeBufferPointer { appendText($0.baseAddress, count: $0.count) }
    }

    @inlinable public mutating func endRow() {
        let digest = SHA256.hash(data: buffer.bytes)
        digest.withUnsafeBytes { raw in
            lanes.0 &+= raw.loadUnaligned(fromByteOffset: 0, as: UInt64.self)
            lanes.1 &+= raw.loadUnaligned(fromByteOffset: 8, as: UInt64.self)
            lanes.2 &+= raw.loadUnaligned(fromByteOffset: 16, as: UInt64.self)
            lanes.3 &+= raw.loadUnaligned(fromByteOffset: 24, as: UInt64.self)
        }
        rows += 1
    }
}
