/// One row of `vm_events`: something that happened to a VM, keyed on its pair.
public struct VMEvent: Sendable, Hashable, Codable {
    public var rowID: Int64
    public var identity: VMIdentity
    /// What happened: `created`, `started`, `stopped`, `error`, `deleted`, …
    public var kind: String
    /// When, as the text the database holds.
    public var at: String
    /// Free-form JSON detail.
    public var detail: String?

    public init(rowID: Int64, identity: VMIdentity, kind: String, at: String, detail: String? = nil) {
        self.rowID = rowID
        self.identity = identity
        self.kind = kind
        self.at = at
        self.detail = detail
    }

    private enum CodingKeys: String, CodingKey {
        case rowID = "id", network, vmID = "vm_id", kind, at, detail
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        try self.init(rowID: c.decode(Int64.self, forKey: .rowID),
                      identity: VMIdentity(network: c.decode(String.self, forKey: .network), vmID: c.decode(String.self, forKey: .vmID)),
                      kind: c.decode(String.self, forKey: .kind), at: c.decode(String.self, forKey: .at),
                      detail: c.decodeIfPresent(String.self, forKey: .detail))
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(rowID, forKey: .rowID)
        try c.encode(identity.network, forKey: .network)
        try c.encode(identity.vmID, forKey: .vmID)
        try c.encode(kind, forKey: .kind)
        try c.encode(at, forKey: .at)
        try c.encode(detail, forKey: .detail)
    }
}

/// What a write did: the pair it was keyed on and the rows it changed (always 1
/// when it returns; any other count is thrown as `unexpectedChangeCount`).
public struct VMChange: Sendable, Hashable, Codable {
    public let identity: VMIdentity
    public let changedRows: Int

    public init(identity: VMIdentity, changedRows: Int) {
        self.identity = identity
        self.changedRows = changedRows
    }
}
