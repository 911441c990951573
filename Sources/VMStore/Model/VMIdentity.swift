/// A VM's identity: the pair (network, vm_id).
///
/// A daemon names its VMs with ids from its own counter, so two daemons on two
/// networks can hand out the same id (`main/005o` and `qa/005o`). Only the pair
/// names one VM. The raw `vmID` is kept exactly as the daemon gave it (byte for
/// byte: equality and hashing compare UTF-8 bytes, not Unicode canonical
/// equivalence, as SQLite does), because calls back to that daemon need it.
///
/// The canonical text form is `network/vm_id`. A network never contains `/`, so
/// the text splits at its first `/` and parses back even when the id holds one.
public struct VMIdentity: Sendable, Hashable, Codable, Comparable, LosslessStringConvertible {
    /// The TFGrid network whose daemon named the VM (`main`, `test`, `qa`, `dev`, …).
    public let network: String
    /// The id exactly as the daemon gave it.
    public let vmID: String

    /// The longest network name accepted, in characters.
    public static let maximumNetworkLength = 64
    /// The longest vm id accepted, in UTF-8 bytes.
    public static let maximumVMIDLength = 255

    /// Makes an identity after checking both parts.
    ///
    /// - Throws: ``StoreError`` (`invalidIdentity`) when a part is empty, too long,
    ///   holds a control character, or when the network holds whitespace or `/`.
    public init(network: String, vmID: String) throws {
        try Self.validate(network: network)
        try Self.validate(vmID: vmID)
        self.network = network
        self.vmID = vmID
    }

    /// An identity read back from the database, which holds only checked values
    /// or values the migrations carried over: kept as they are.
    package init(unchecked network: String, vmID: String) {
        self.network = network
        self.vmID = vmID
    }

    /// Parses the canonical text `network/vm_id`.
    public init?(_ description: String) {
        guard let identity = try? Self.parse(description) else { return nil }
        self = identity
    }

    /// Parses the canonical text `network/vm_id`, saying what is wrong when it cannot.
    ///
    /// - Throws: ``StoreError`` `invalidIdentity`, saying what is wrong with the text.
    public static func parse(_ text: String) throws -> VMIdentity {
        guard let slash = text.utf8.firstIndex(of: UInt8(ascii: "/")) else {
            throw StoreError(.invalidIdentity(reason: "expected network/vm_id (such as main/005o), found no '/'"))
        }
        let network = String(text[..<slash])
        let vmID = String(text[text.utf8.index(after: slash)...])
        return try VMIdentity(network: network, vmID: vmID)
    }

    /// `network/vm_id`.
    public var description: String { "\(network)/\(vmID)" }

    // MARK: Byte-exact equality

    public static func == (lhs: VMIdentity, rhs: VMIdentity) -> Bool {
        lhs.network.utf8.elementsEqual(rhs.network.utf8) && lhs.vmID.utf8.elementsEqual(rhs.vmID.utf8)
    }

    public func hash(into hasher: inout Hasher) {
        hasher.combine(network.utf8.count)
        for byte in network.utf8 { hasher.combine(byte) }
        for byte in vmID.utf8 { hasher.combine(byte) }
    }

    /// Orders by network, then vm id, byte-wise (SQLite's BINARY collation).
    public static func < (lhs: VMIdentity, rhs: VMIdentity) -> Bool {
        if !lhs.network.utf8.elementsEqual(rhs.network.utf8) {
            return lhs.network.utf8.lexicographicallyPrecedes(rhs.network.utf8)
        }
        return lhs.vmID.utf8.lexicographicallyPrecedes(rhs.vmID.utf8)
    }

    // MARK: Codable: {"network": …, "vm_id": …}, checked on decode

    private enum CodingKeys: String, CodingKey {
        case network
        case vmID = "vm_id"
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        try self.init(network: container.decode(String.self, forKey: .network),
                      vmID: container.decode(String.self, forKey: .vmID))
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(network, forKey: .network)
        try container.encode(vmID, forKey: .vmID)
    }
}

// MARK: Validation

extension VMIdentity {
    /// Checks a network name: 1 to 64 characters, no whitespace, control characters or `/`.
    ///
    /// - Throws: ``StoreError`` `invalidIdentity`, saying what is wrong with the name.
    public static func validate(network: String) throws {
        guard !network.isEmpty else {
            throw StoreError(.invalidIdentity(reason: "the network is empty: give one such as main, test, qa or dev"))
        }
        guard network.count <= maximumNetworkLength else {
            throw StoreError(.invalidIdentity(reason: "the network is longer than \(maximumNetworkLength) characters"))
        }
        for scalar in network.unicodeScalars {
            if isControl(scalar) {
                throw StoreError(.invalidIdentity(reason: "the network contains a control character (U+\(hex(scalar)))"))
            }
            if scalar.properties.isWhitespace {
                throw StoreError(.invalidIdentity(reason: "the network contains whitespace (U+\(hex(scalar)))"))
            }
            if scalar == "/" {
                throw StoreError(.invalidIdentity(reason: "the network contains '/', which separates network and vm id in network/vm_id"))
            }
        }
    }

    /// Checks a vm id: 1 to 255 UTF-8 bytes, no control characters. Every other
    /// shape a daemon may give (`005o`, a UUID, spaces, quotes, `/`) is accepted as is.
    ///
    /// - Throws: ``StoreError`` `invalidIdentity`, saying what is wrong with the id.
    public static func validate(vmID: String) throws {
        guard !vmID.isEmpty else {
            throw StoreError(.invalidIdentity(reason: "the vm id is empty"))
        }
        guard vmID.utf8.count <= maximumVMIDLength else {
            throw StoreError(.invalidIdentity(reason: "the vm id is longer than \(maximumVMIDLength) bytes (\(vmID.utf8.count))"))
        }
        if let scalar = vmID.unicodeScalars.first(where: isControl) {
            throw StoreError(.invalidIdentity(reason: "the vm id contains a control character (U+\(hex(scalar)))"))
        }
    }

    /// C0 controls (NUL included), DEL and C1 controls.
    private static func isControl(_ scalar: Unicode.Scalar) -> Bool {
        scalar.value < 0x20 || (0x7f...0x9f).contains(scalar.value)
    }

    private static func hex(_ scalar: Unicode.Scalar) -> String {
        let digits = String(scalar.value, radix: 16, uppercase: true)
        return String(repeating: "0", count: max(0, 4 - digits.count)) + digits
    }
}
