/// One row of `vms` at schema version 3: every column.
///
/// Timestamps are kept as the text the database holds (ISO 8601 in UTC, such as
/// `2026-01-04T10:11:12Z`, for the rows this store writes), so a record read and
/// shown is exactly what is stored.
public struct VMRecord: Sendable, Hashable, Codable {
    /// The row id (`vms.id`), local to this database.
    public var rowID: Int64
    /// The pair that names the VM.
    public var identity: VMIdentity
    public var name: String
    public var nodeID: Int64?
    public var contractID: Int64?
    public var twinID: Int64?
    public var status: VMStatus
    public var ipv4: String?
    public var ipv6: String?
    public var myceliumIP: String?
    public var flist: String?
    public var cpu: Int64?
    public var memoryMB: Int64?
    public var diskGB: Int64?
    /// The version the deployer last installed on the VM.
    public var installedVersion: String?
    /// An update the deployer found available, not yet installed.
    public var availableVersion: String?
    /// When the deployer last checked for updates.
    public var updatesCheckedAt: String?
    public var createdAt: String
    public var updatedAt: String
    /// Free-form JSON the deployer keeps with the VM.
    public var metadata: String?
    public var origin: VMOrigin

    public var network: String { identity.network }
    public var vmID: String { identity.vmID }

    public init(rowID: Int64, identity: VMIdentity, name: String, nodeID: Int64? = nil, contractID: Int64? = nil,
                twinID: Int64? = nil, status: VMStatus, ipv4: String? = nil, ipv6: String? = nil,
                myceliumIP: String? = nil, flist: String? = nil, cpu: Int64? = nil, memoryMB: Int64? = nil,
                diskGB: Int64? = nil, installedVersion: String? = nil, availableVersion: String? = nil,
                updatesCheckedAt: String? = nil, createdAt: String, updatedAt: String, metadata: String? = nil,
                origin: VMOrigin) {
        self.rowID = rowID
        self.identity = identity
        self.name = name
        self.nodeID = nodeID
        self.contractID = contractID
        self.twinID = twinID
        self.status = status
        self.ipv4 = ipv4
        self.ipv6 = ipv6
        self.myceliumIP = myceliumIP
        self.flist = flist
        self.cpu = cpu
        self.memoryMB = memoryMB
        self.diskGB = diskGB
        self.installedVersion = installedVersion
        self.availableVersion = availableVersion
        self.updatesCheckedAt = updatesCheckedAt
        self.createdAt = createdAt
        self.updatedAt = updatedAt
        self.metadata = metadata
        self.origin = origin
    }

    /// The JSON keys are the column names (`vm_id`, `node_id`, …), identity flattened.
    private enum CodingKeys: String, CodingKey {
        case rowID = "id", network, vmID = "vm_id", name, nodeID = "node_id", contractID = "contract_id"
        case twinID = "twin_id", status, ipv4, ipv6, myceliumIP = "mycelium_ip", flist, cpu
        case memoryMB = "memory_mb", diskGB = "disk_gb", installedVersion = "installed_version"
        case availableVersion = "available_version", updatesCheckedAt = "updates_checked_at"
        case createdAt = "created_at", updatedAt = "updated_at", metadata, origin
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        self.init(
            rowID: try c.decode(Int64.self, forKey: .rowID),
            identity: try VMIdentity(network: c.decode(String.self, forKey: .network), vmID: c.decode(String.self, forKey: .vmID)),
            name: try c.decode(String.self, forKey: .name),
            nodeID: try c.decodeIfPresent(Int64.self, forKey: .nodeID),
            contractID: try c.decodeIfPresent(Int64.self, forKey: .contractID),
            twinID: try c.decodeIfPresent(Int64.self, forKey: .twinID),
            status: try c.decode(VMStatus.self, forKey: .status),
            ipv4: try c.decodeIfPresent(String.self, forKey: .ipv4),
            ipv6: try c.decodeIfPresent(String.self, forKey: .ipv6),
            myceliumIP: try c.decodeIfPresent(String.self, forKey: .myceliumIP),
            flist: try c.decodeIfPresent(String.self, forKey: .flist),
            cpu: try c.decodeIfPresent(Int64.self, forKey: .cpu),
            memoryMB: try c.decodeIfPresent(Int64.self, forKey: .memoryMB),
            diskGB: try c.decodeIfPresent(Int64.self, forKey: .diskGB),
            installedVersion: try c.decodeIfPresent(String.self, forKey: .installedVersion),
            availableVersion: try c.decodeIfPresent(String.self, forKey: .availableVersion),
            updatesCheckedAt: try c.decodeIfPresent(String.self, forKey: .updatesCheckedAt),
            createdAt: try c.decode(String.self, forKey: .createdAt),
            updatedAt: try c.decode(String.self, forKey: .updatedAt),
            metadata: try c.decodeIfPresent(String.self, forKey: .metadata),
            origin: try c.decode(VMOrigin.self, forKey: .origin))
    }

    /// Every key is written, nulls included, so scripts see the full column set.
    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(rowID, forKey: .rowID)
        try c.encode(network, forKey: .network)
        try c.encode(vmID, forKey: .vmID)
        try c.encode(name, forKey: .name)
        try c.encode(nodeID, forKey: .nodeID)
        try c.encode(contractID, forKey: .contractID)
        try c.encode(twinID, forKey: .twinID)
        try c.encode(status, forKey: .status)
        try c.encode(ipv4, forKey: .ipv4)
        try c.encode(ipv6, forKey: .ipv6)
        try c.encode(myceliumIP, forKey: .myceliumIP)
        try c.encode(flist, forKey: .flist)
        try c.encode(cpu, forKey: .cpu)
        try c.encode(memoryMB, forKey: .memoryMB)
        try c.encode(diskGB, forKey: .diskGB)
        try c.encode(installedVersion, forKey: .installedVersion)
        try c.encode(availableVersion, forKey: .availableVersion)
        try c.encode(updatesCheckedAt, forKey: .updatesCheckedAt)
        try c.encode(createdAt, forKey: .createdAt)
        try c.encode(updatedAt, forKey: .updatedAt)
        try c.encode(metadata, forKey: .metadata)
        try c.encode(origin, forKey: .origin)
    }
}
