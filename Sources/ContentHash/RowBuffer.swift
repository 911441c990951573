/// A growable byte buffer for encoding one row: tag byte, then a big-endian
/// 8-byte integer or length, then the bytes. The same encoding as before any
/// optimisation, so recorded hashes stay comparable.
@usableFromInline struct RowBuffer {
    @usableFromInline var storage: UnsafeMutableRawPointer
    @usableFromInline var capacity: Int
    @usableFromInline var count = 0

    init(capacity: Int) {
        self.capacity = capacity
        storage = UnsafeMutableRawPointer.allocate(byteCount: capacity, alignment: 8)
    }

    func deallocate() { storage.deallocate() }

    @inlinable var bytes: UnsafeRawBufferPointer { UnsafeRawBufferPointer(start: storage, count: count) }

    @inlinable mutating func reserve(_ extra: Int) {
        guard count + extra > capacity else { return }
        grow(to: max(capacity * 2, count + extra))
    }

    @usableFromInline mutating func grow(to size: Int) {
        let bigger = UnsafeMutableRawPointer.allocate(byteCount: size, alignment: 8)
        bigger.copyMemory(from: storage, byteCount: count)
        storage.deallocate()
        storage = bigger
        capacity = size
    }

    @inlinable mutating func append(tag: UInt8) {
        reserve(1)
        storage.storeBytes(of: tag, toByteOffset: count, as: UInt8.self)
        count += 1
    }

    @inlinable mutating func append(tag: UInt8, integer: UInt64) {
        reserve(9)
        storage.storeBytes(of: tag, toByteOffset: count, as: UInt8.self)
        storage.storeBytes(of: integer.bigEndian, toByteOffset: count + 1, as: UInt64.self)
        count += 9
    }

    @inlinable mutating func append(tag: UInt8, bytes: UnsafeRawPointer?, count length: Int) {
        append(tag: tag, integer: UInt64(length))
        guard let bytes, length > 0 else { return }
        reserve(length)
        (storage + count).copyMemory(from: bytes, byteCount: length)
        count += length
    }
}
