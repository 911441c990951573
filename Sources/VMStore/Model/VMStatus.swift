/// A VM's lifecycle status as the deployer records it (`vms.status`).
///
/// A string-backed value, not a closed enum: a daemon or an older deployer may
/// have written a status this build does not name, and the store keeps it as is.
public struct VMStatus: RawRepresentable, Sendable, Hashable, Codable, ExpressibleByStringLiteral, CustomStringConvertible {
    public let rawValue: String

    public init(rawValue: String) { self.rawValue = rawValue }
    public init(_ rawValue: String) { self.rawValue = rawValue }
    public init(stringLiteral value: String) { rawValue = value }

    public static let provisioning: VMStatus = "provisioning"
    public static let running: VMStatus = "running"
    public static let stopped: VMStatus = "stopped"
    public static let error: VMStatus = "error"
    public static let deleted: VMStatus = "deleted"

    public var description: String { rawValue }

    public init(from decoder: any Decoder) throws {
        rawValue = try decoder.singleValueContainer().decode(String.self)
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(rawValue)
    }
}

/// How a record came to be (`vms.origin`).
public enum VMOrigin: String, Sendable, Hashable, Codable, CaseIterable {
    /// The deployer provisioned the VM and recorded it in the same step.
    case provision
    /// The VM ran on a daemon without a record (an orphan) and repair recorded it.
    case repair
}
