/// What repair found about provision intents (schema v4): the pending ones whose
/// lease ran out, each with what the daemon's inventory says about its request id.
public struct IntentFindings: Sendable, Codable {
    /// What repair does (or, with `--apply`, did) about one interrupted provision.
    public enum Resolution: String, Sendable, Codable, Hashable {
        /// Exactly one VM carries the request id: record it and close the intent as adopted.
        case adopt
        /// Several VMs carry it: reported, nothing changed (a person decides).
        case ambiguous
        /// None does, for the first time: the miss is noted; a later scan decides.
        case firstMiss = "first_miss"
        /// None did on an earlier scan, too soon to be sure: run repair again later.
        case awaitingSecondScan = "awaiting_second_scan"
        /// None did on two scans far enough apart: close the intent as abandoned.
        case abandon

        /// Whether `--apply` writes something for it (an adoption, a noted miss, an abandonment).
        public var writes: Bool { self == .adopt || self == .firstMiss || self == .abandon }
    }

    /// One pending intent repair resolves.
    public struct Finding: Sendable, Codable, Hashable {
        public let network: String
        public let requestID: String
        public let name: String
        public let createdAt: String
        public let resolution: Resolution
        /// The VMs the inventory lists under the request id.
        public let vmIDs: [String]
        /// The first scan that missed it, if one did.
        public let firstMissedAt: String?

        enum CodingKeys: String, CodingKey {
            case network, requestID = "request_id", name, createdAt = "created_at", resolution, vmIDs = "vm_ids"
            case firstMissedAt = "first_missed_at"
        }
    }

    /// Intents per state in the store, before this run.
    public var states: [String: Int] = [:]
    /// The pending intents whose lease ran out, on the networks checked, oldest first.
    public var findings: [Finding] = []
    /// Pending intents still leased or younger than the minimum age: provisions in progress, left alone.
    public var inProgress = 0
    /// Pending intents on networks no inventory covered.
    public var notChecked = 0

    /// Whether `--apply` has anything to write.
    public var needsWrite: Bool { findings.contains { $0.resolution.writes } }

    /// Findings that need someone (or a later run): every one but adoptions and abandonments.
    public var unresolved: Int { findings.filter { [.ambiguous, .firstMiss, .awaitingSecondScan].contains($0.resolution) }.count }

    enum CodingKeys: String, CodingKey {
        case states, findings, inProgress = "in_progress", notChecked = "not_checked"
    }
}
