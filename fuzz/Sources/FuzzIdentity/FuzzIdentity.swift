import Foundation
import FuzzSupport
import VMStore

/// One libFuzzer input: a `network/vm_id` reference as an operator or a script types it.
///
/// Parsing never crashes; what parses prints back to the same text and parses
/// again to an equal identity; the parts it accepts pass the same checks the
/// store applies on every write.
@main enum FuzzIdentityTarget {
    static func main() { FuzzDriver.run(fuzzIdentity) }
}

// libFuzzer's runtime also links against this name.
@_cdecl("LLVMFuzzerTestOneInput")
func fuzzIdentity(_ start: UnsafePointer<UInt8>?, _ count: Int) -> CInt {
    let bytes = start.map { Array(UnsafeBufferPointer(start: $0, count: count)) } ?? []
    let text = String(decoding: bytes, as: UTF8.self)
    if let identity = try? VMIdentity.parse(text) {
        precondition(identity.description == text, "\(identity) does not print back as \(text)")
        precondition(VMIdentity(identity.description) == identity, "\(identity) does not round-trip")
        precondition((try? VMIdentity.validate(network: identity.network)) != nil)
        precondition((try? VMIdentity.validate(vmID: identity.vmID)) != nil)
        precondition(VMReference(identity).identity == identity)
    }
    // The same text as a bare vm id, and as a network.
    if let reference = try? VMReference(vmID: text) { precondition(reference.vmID == text) }
    _ = try? VMIdentity.validate(network: text)
    return 0
}
