import Foundation

/// Reads entries' JSON text back from their inventory files by byte range:
/// only the orphans' text is ever needed (to report and to keep in the audit
/// trail), so the million others are never copied out of the files.
final class InventoryEntryTexts {
    private var files: [String: UnsafeMutablePointer<FILE>] = [:]

    /// The exact text of the entry at `offset..<offset+length` in `path`.
    ///
    /// - Throws: ``RepairError`` (`malformedInput`) when the file changed under
    ///   the run or the text is not valid UTF-8 (never repaired).
    func text(path: String, offset: Int, length: Int) throws -> String {
        let file: UnsafeMutablePointer<FILE>
        if let open = files[path] {
            file = open
        } else {
            guard let opened = fopen(path, "rb") else {
                throw RepairError(.malformedInput, "cannot read the inventory \(path) again (\(String(cString: strerror(errno)))): was it moved during the run?")
            }
            files[path] = opened
            file = opened
        }
        var bytes = [UInt8](repeating: 0, count: length)
        let read = bytes.withUnsafeMutableBytes { buffer -> Int in
            guard fseeko(file, off_t(offset), SEEK_SET) == 0 else { return -1 }
            return fread(buffer.baseAddress, 1, length, file)
        }
        guard read == length, bytes.first == UInt8(ascii: "{"), bytes.last == UInt8(ascii: "}") else {
            throw RepairError(.malformedInput, "the inventory \(path) changed while repair was reading it: run again on a file that stays put")
        }
        guard let text = JSONByteReader.string(validating: bytes) else {
            throw RepairError(.malformedInput, "the inventory \(path) holds an entry that is not valid UTF-8 (at byte \(offset)); nothing was recorded")
        }
        return text
    }

    deinit {
        for file in files.values { fclose(file) }
    }
}
