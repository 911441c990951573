import VMStore

/// The store's rule for a network name, as a repair error.
enum NetworkRule {
    static func validate(_ network: String) throws {
        do {
            try VMIdentity.validate(network: network)
        } catch let error as StoreError {
            throw RepairError(.malformedInput, "\(error)")
        }
    }
}
