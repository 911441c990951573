/// What the deployer knows about a VM it has just deployed: the values of one provision.
///
/// The store adds the row id, `created_at`, `updated_at` and the origin.
public struct NewVM: Sendable, Hashable {
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
    public var installedVersion: String?
    public var metadata: String?

    public init(identity: VMIdentity, name: String, nodeID: Int64? = nil, contractID: Int64? = nil,
                twinID: Int64? = nil, status: VMStatus = .provisioning, ipv4: String? = nil, ipv6: String? = nil,
                myceliumIP: String? = nil, flist: String? = nil, cpu: Int64? = nil, memoryMB: Int64? = nil,
                diskGB: Int64? = nil, installedVersion: String? = nil, metadata: String? = nil) {
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
        self.metadata = metadata
    }
}
