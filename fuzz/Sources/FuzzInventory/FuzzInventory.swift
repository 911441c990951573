import Foundation
import FuzzSupport
@testable import FuzzedRepair

/// One libFuzzer input: the bytes of an inventory file or a daemon's answer.
///
/// Read whole and in 7-byte chunks (the refill path): both must agree, entry
/// for entry or error for error, and neither may crash, hang or recurse
/// without bound.
@main enum FuzzInventoryTarget {
    static func main() { FuzzDriver.run(fuzzInventory) }
}

// libFuzzer's runtime also links against this name.
@_cdecl("LLVMFuzzerTestOneInput")
func fuzzInventory(_ start: UnsafePointer<UInt8>?, _ count: Int) -> CInt {
    let data = start.map { Data(bytes: $0, count: count) } ?? Data()
    let whole = read(data, chunkSize: 1 << 20)
    let chunked = read(data, chunkSize: 7)
    precondition(whole == chunked, "the chunk size changed the result: \(whole) vs \(chunked)")
    return 0
}

private func read(_ data: Data, chunkSize: Int) -> String {
    var reader = JSONByteReader(data: data, chunkSize: chunkSize)
    var entries: [InventoryEntry] = []
    do {
        let summary = try InventoryDocumentReader(idField: .standard).read(&reader) { entries.append($0) }
        return "ok \(summary) \(entries)"
    } catch {
        return "error \(error)"
    }
}
