import VMStore

// Test literals for the store, shared by the store's own tests and the contract suite
// that runs on both engines: each is known valid, so a failure to make one is a test bug.

extension VMIdentity {
    /// `network/vm_id` for test literals that are known valid.
    public static func id(_ network: String, _ vmID: String) -> VMIdentity {
        try! VMIdentity(network: network, vmID: vmID)
    }
}

extension VMReference {
    public static func ref(_ vmID: String, _ network: String? = nil) -> VMReference {
        try! VMReference(vmID: vmID, network: network)
    }
}

extension NewVM {
    /// A VM as the deployer records one, on `network` with `vmID`.
    public static func sample(_ network: String, _ vmID: String, name: String? = nil, status: VMStatus = .running) -> NewVM {
        NewVM(identity: .id(network, vmID), name: name ?? "vm-\(vmID)", nodeID: 11, contractID: 100_231, twinID: 4012,
              status: status, ipv4: "185.69.166.12/24", flist: "https://hub.grid.tf/tf-official-vms/ubuntu-24.04-full.flist",
              cpu: 2, memoryMB: 4096, diskGB: 50, metadata: #"{"tags":["web"]}"#)
    }
}
