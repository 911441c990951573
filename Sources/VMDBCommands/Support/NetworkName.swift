import ArgumentParser

/// The rule for a network name given on the command line.
enum NetworkName {
    static func validate(_ name: String, option: String) throws {
        guard !name.isEmpty, name.count <= 64 else {
            throw ValidationError("\(option) must be 1 to 64 characters (a network such as main, test, qa or dev)")
        }
        guard name.unicodeScalars.allSatisfy({ !$0.properties.isWhitespace && $0.value >= 0x20 && $0.value != 0x7f && $0 != "/" }) else {
            throw ValidationError("\(option) must not contain spaces, control characters or '/' (a network such as main, test, qa or dev)")
        }
    }
}
