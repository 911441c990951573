import Foundation

/// What a deployer asks a daemon to create, under a request id of its own.
///
/// The daemon picks the vm_id, so the request id is what the deployer can find the
/// VM by afterwards: it sends it with `deploy_vm` (the daemon keeps it and lists it
/// in `list_vms` as `request_id`), and `vmdb repair` looks it up there when a
/// provision was interrupted. The same request id on the same network always means
/// the same request (AWS's `ClientToken`): reused for another one, it is refused.
public struct ProvisionRequest: Sendable, Hashable, Codable {
    public var network: String
    /// The deployer's own id for this create: unique per network, 1 to 255 bytes, no control characters.
    public var requestID: String
    public var name: String
    public var nodeID: Int64?
    public var cpu: Int64?
    public var memoryMB: Int64?
    public var diskGB: Int64?

    /// - Throws: ``StoreError`` `invalidIdentity` when the network or the request id
    ///   has a shape the store refuses (the rules of ``VMIdentity``'s network and vm id).
    public init(network: String, requestID: String, name: String, nodeID: Int64? = nil, cpu: Int64? = nil,
                memoryMB: Int64? = nil, diskGB: Int64? = nil) throws {
        try VMIdentity.validate(network: network)
        // A vm id's rules: the daemon keeps and lists it as it keeps ids.
        if requestID.isEmpty || requestID.utf8.count > VMIdentity.maximumVMIDLength
            || requestID.unicodeScalars.contains(where: { $0.value < 0x20 || (0x7f...0x9f).contains($0.value) }) {
            throw StoreError(.invalidIdentity(reason: "the request id must be 1 to \(VMIdentity.maximumVMIDLength) bytes with no control character"))
        }
        self.network = network
        self.requestID = requestID
        self.name = name
        self.nodeID = nodeID
        self.cpu = cpu
        self.memoryMB = memoryMB
        self.diskGB = diskGB
    }

    /// The fields whose values differ from `other`'s, by column name.
    func differences(from other: ProvisionRequest) -> [String] {
        var fields: [String] = []
        if name != other.name { fields.append("name") }
        if nodeID != other.nodeID { fields.append("node_id") }
        if cpu != other.cpu { fields.append("cpu") }
        if memoryMB != other.memoryMB { fields.append("memory_mb") }
        if diskGB != other.diskGB { fields.append("disk_gb") }
        return fields
    }

    enum CodingKeys: String, CodingKey {
        case network, requestID = "request_id", name, nodeID = "node_id", cpu, memoryMB = "memory_mb", diskGB = "disk_gb"
    }
}

/// Where a provision intent stands (`provision_intents.state`).
public enum ProvisionState: String, Sendable, Hashable, Codable, CaseIterable {
    /// Written before the daemon call, not closed yet: the provision runs (its lease
    /// is live) or was interrupted (the lease ran out), and repair resolves it.
    case pending
    /// The deployer recorded the VM and closed the intent in the same transaction.
    case recorded
    /// The daemon said no: nothing was created.
    case failed
    /// Repair found the request's VM in the daemon's inventory and recorded it.
    case adopted
    /// Repair missed the request's VM on two scans some time apart: nothing was created.
    case abandoned

    /// Whether the intent is closed (every state but `pending`).
    public var isClosed: Bool { self != .pending }
}

/// A provision intent as stored: the request, where it stands, and who works on it.
public struct ProvisionIntent: Sendable, Hashable, Codable {
    public var request: ProvisionRequest
    public var state: ProvisionState
    /// The VM's id, once recorded or adopted.
    public var vmID: String?
    /// Why it failed, or what repair saw.
    public var detail: String?
    /// Who holds the pending provision, and until when (nil once closed).
    public var leaseOwner: String?
    public var leaseExpiresAt: String?
    /// The first repair scan that did not find the request's VM (a second one, later, abandons it).
    public var firstMissedAt: String?
    public var createdAt: String
    public var updatedAt: String

    package init(request: ProvisionRequest, state: ProvisionState, vmID: String?, detail: String?, leaseOwner: String?,
                 leaseExpiresAt: String?, firstMissedAt: String?, createdAt: String, updatedAt: String) {
        self.request = request
        self.state = state
        self.vmID = vmID
        self.detail = detail
        self.leaseOwner = leaseOwner
        self.leaseExpiresAt = leaseExpiresAt
        self.firstMissedAt = firstMissedAt
        self.createdAt = createdAt
        self.updatedAt = updatedAt
    }

    public var network: String { request.network }
    public var requestID: String { request.requestID }

    /// The recorded VM's pair, once there is one.
    public var identity: VMIdentity? { vmID.map { VMIdentity(unchecked: request.network, vmID: $0) } }

    enum CodingKeys: String, CodingKey {
        case request, state, vmID = "vm_id", detail, leaseOwner = "lease_owner", leaseExpiresAt = "lease_expires_at"
        case firstMissedAt = "first_missed_at", createdAt = "created_at", updatedAt = "updated_at"
    }
}
