/// How an operator or the deployer names a VM: the id, and the network when it is known.
///
/// The store resolves a reference by one rule: with a network it is the pair;
/// without one, the id must exist on exactly one network. None is "not found",
/// several is "ambiguous" naming the networks: the store never guesses.
public struct VMReference: Sendable, Hashable, Codable, CustomStringConvertible {
    /// The id exactly as the daemon gave it.
    public let vmID: String
    /// The network, when given: then the reference is exactly one identity.
    public let network: String?

    /// A reference by id, and by network when given.
    ///
    /// - Throws: ``StoreError`` (`invalidIdentity`) when a part breaks the rules of ``VMIdentity``.
    public init(vmID: String, network: String? = nil) throws {
        try VMIdentity.validate(vmID: vmID)
        if let network { try VMIdentity.validate(network: network) }
        self.vmID = vmID
        self.network = network
    }

    /// The reference naming exactly `identity`.
    public init(_ identity: VMIdentity) {
        vmID = identity.vmID
        network = identity.network
    }

    /// The identity, when the network is known.
    public var identity: VMIdentity? {
        network.map { VMIdentity(unchecked: $0, vmID: vmID) }
    }

    /// `network/vm_id`, or the id alone when no network was given.
    public var description: String { identity?.description ?? vmID }

    public static func == (lhs: VMReference, rhs: VMReference) -> Bool {
        lhs.vmID.utf8.elementsEqual(rhs.vmID.utf8)
            && (lhs.network?.utf8).map { l in (rhs.network?.utf8).map { l.elementsEqual($0) } ?? false } ?? (rhs.network == nil)
    }

    public func hash(into hasher: inout Hasher) {
        for byte in vmID.utf8 { hasher.combine(byte) }
        hasher.combine(network == nil)
        for byte in network?.utf8 ?? "".utf8 { hasher.combine(byte) }
    }

    private enum CodingKeys: String, CodingKey {
        case vmID = "vm_id"
        case network
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        try self.init(vmID: container.decode(String.self, forKey: .vmID),
                      network: container.decodeIfPresent(String.self, forKey: .network))
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(vmID, forKey: .vmID)
        try container.encodeIfPresent(network, forKey: .network)
    }
}

extension VMIdentity {
    /// The reference naming exactly this identity.
    public var reference: VMReference { VMReference(self) }
}
