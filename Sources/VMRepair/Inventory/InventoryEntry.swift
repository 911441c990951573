/// One VM as a daemon listed it: the fields repair compares, and where the
/// entry's exact JSON text lies in its document (what the audit trail keeps).
public struct InventoryEntry: Sendable, Hashable {
    /// The entry's position in its inventory (0-based), for error messages.
    public var index: Int
    /// The short id, exactly as the daemon gave it.
    public var vmID: String
    public var name: String?
    public var status: String?
    /// The node id as the daemon wrote it (a number's spelling, or a string).
    public var node: String?
    /// The contract id as the daemon wrote it.
    public var contract: String?
    /// The request id the deployer sent with `deploy_vm` (`request_id`), when the daemon lists it.
    public var requestID: String?
    /// The byte range of the entry's JSON text in its document.
    public var range: Range<Int>

    public init(index: Int, vmID: String, name: String? = nil, status: String? = nil, node: String? = nil,
                contract: String? = nil, requestID: String? = nil, range: Range<Int>) {
        self.index = index
        self.vmID = vmID
        self.name = name
        self.status = status
        self.node = node
        self.contract = contract
        self.requestID = requestID
        self.range = range
    }
}

/// Which entry field carries the short id.
public struct IDFieldRule: Sendable, Hashable, CustomStringConvertible {
    /// The fields tried in order; the first one present (a string or a number) wins.
    public let candidates: [String]

    /// `vm_id`, falling back to `sid`, then `id`.
    public static let standard = IDFieldRule(candidates: ["vm_id", "sid", "id"])

    /// Exactly `field`, no fallback (an operator who names the field means it).
    public static func only(_ field: String) -> IDFieldRule { IDFieldRule(candidates: [field]) }

    public init(candidates: [String]) {
        precondition(!candidates.isEmpty, "an id field rule needs at least one field")
        self.candidates = candidates
    }

    public var description: String { candidates.joined(separator: ", then ") }
}
