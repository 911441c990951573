import Foundation

/// Reads an inventory file through the same streaming reader repair uses,
/// without a database: to check an export before a run, and to measure the
/// reading alone.
public enum InventoryScan {
    public struct Result: Sendable, Hashable {
        public let entries: Int
        /// The network the file states, if it does.
        public let network: String?
        /// Bytes of entry text read (what the audit trail would keep).
        public let entryBytes: Int
    }

    /// Streams `path` and counts its entries.
    ///
    /// - Throws: ``RepairError`` (`malformedInput`) where the file is not a usable inventory.
    public static func scan(file path: String, idField: String? = nil) throws -> Result {
        guard let file = fopen(path, "rb") else {
            throw RepairError(.malformedInput, "cannot read the inventory \(path) (\(String(cString: strerror(errno)))): check the path and its permissions")
        }
        defer { fclose(file) }
        var reader = JSONByteReader { buffer in
            buffer.withUnsafeMutableBytes { fread($0.baseAddress, 1, $0.count, file) }
        }
        var bytes = 0
        do {
            let summary = try InventoryDocumentReader(idField: idField.map(IDFieldRule.only) ?? .standard).read(&reader) { entry in
                bytes += entry.range.count
            }
            return Result(entries: summary.entryCount, network: summary.network, entryBytes: bytes)
        } catch let error as JSONByteReader.SyntaxError {
            throw RepairError(.malformedInput, "the inventory \(path) is not valid JSON: \(error)")
        } catch let error as InventoryDocumentReader.ShapeError {
            throw RepairError(.malformedInput, "the inventory \(path) \(error.reason)")
        }
    }
}
