import ArgumentParser
import VMStore

/// A network name given on the command line, checked by the store's rule
/// (``VMIdentity/validate(network:)``), the one rule every entry point uses:
/// a name the CLI accepted is always one the store can look up again.
enum NetworkName {
    static func validate(_ name: String, option: String) throws {
        do {
            try VMIdentity.validate(network: name)
        } catch let error as StoreError {
            let reason = error.description.replacingOccurrences(of: "invalid VM identity: ", with: "")
            throw ValidationError("\(option) is not a network name: \(reason) (a network such as main, test, qa or dev)")
        }
    }
}
