import SQLiteFiles

/// What `vmdb repair` found (and, with `--apply`, did).
///
/// Counts are always exact; the lists hold at most ``listLimit`` findings of
/// each kind (the rest are counted, not listed) so a report on millions of
/// records stays bounded.
public struct RepairReport: Sendable, Codable {
    /// One inventory read: a file or a daemon's answer.
    public struct Source: Sendable, Codable, Hashable {
        /// `file PATH` or `daemon unix:///…`: also what the audit rows record as their source.
        public let label: String
        public let network: String
        public let entries: Int
    }

    /// A VM a daemon runs that the store lacks.
    public struct Orphan: Sendable, Codable, Hashable {
        public let network: String
        public let vmID: String
        public let name: String?
        public let status: String?
        public let node: String?
        public let contract: String?
        /// Which inventory lists it.
        public let source: String
        /// The daemon's entry, exactly as it came.
        public let entry: String

        enum CodingKeys: String, CodingKey { case network, vmID = "vm_id", name, status, node, contract, source, entry }
    }

    /// A record on a network whose daemon was read completely and does not list it.
    public struct Ghost: Sendable, Codable, Hashable {
        public let network: String
        public let vmID: String
        public let name: String
        public let status: String
        public let origin: String

        enum CodingKeys: String, CodingKey { case network, vmID = "vm_id", name, status, origin }
    }

    /// A VM both sides know that they describe differently.
    public struct Drift: Sendable, Codable, Hashable {
        public struct Difference: Sendable, Codable, Hashable {
            /// `status`, `name`, `node` or `contract`.
            public let field: String
            public let store: String?
            public let daemon: String

            public init(field: String, store: String?, daemon: String) {
                self.field = field
                self.store = store
                self.daemon = daemon
            }
        }

        public let network: String
        public let vmID: String
        public let source: String
        public let differences: [Difference]

        enum CodingKeys: String, CodingKey { case network, vmID = "vm_id", source, differences }
    }

    public struct Counts: Sendable, Codable, Hashable {
        public var orphans = 0
        public var ghosts = 0
        public var drift = 0

        public init(orphans: Int = 0, ghosts: Int = 0, drift: Int = 0) {
            self.orphans = orphans
            self.ghosts = ghosts
            self.drift = drift
        }
    }

    /// What `--apply` did.
    public struct Applied: Sendable, Codable {
        /// Orphans recorded (origin `repair`), each with an audit row.
        public var recorded = 0
        /// Orphans found recorded by the time the transaction ran (the deployer was faster).
        public var alreadyRecorded = 0
        /// Provision intents adopted (their VM recorded, with an audit row), abandoned, and
        /// noted missing for the first time; and those the deployer closed or leased meanwhile.
        public var intentsAdopted = 0
        public var intentsAbandoned = 0
        public var intentMissesNoted = 0
        public var intentsChangedMeanwhile = 0
        public var backup: BackupRecord?
    }

    public var database: String
    /// `report` or `apply`.
    public var mode: String
    public var sources: [Source]
    /// Networks whose inventory was read completely: ghosts are looked for there.
    public var networksChecked: [String]
    /// Networks the store holds VMs on that no inventory covered: not checked for ghosts.
    public var networksNotChecked: [String]
    public var counts = Counts()
    public var orphans: [Orphan] = []
    public var ghosts: [Ghost] = []
    public var drift: [Drift] = []
    /// Provision intents (nil below schema v4, which has none).
    public var intents: IntentFindings?
    /// The most findings of each kind listed; nil when all are.
    public var listLimit: Int?
    public var applied: Applied?
    /// Time to read and index the inventories, in seconds.
    public var inventorySeconds = 0.0
    /// Time for the whole run, in seconds.
    public var seconds = 0.0

    /// Whether store and daemons disagree in any way, interrupted provisions included.
    public var hasFindings: Bool { counts.orphans + counts.ghosts + counts.drift > 0 || !(intents?.findings.isEmpty ?? true) }

    /// Whether anything is left for an operator after this run: orphans recorded and
    /// intents adopted or abandoned by `--apply` are not; an ambiguous intent is, and so
    /// is a first miss (run repair again after the interval, the two-scan rule).
    public var needsAction: Bool {
        applied == nil ? hasFindings : counts.ghosts + counts.drift + (intents?.unresolved ?? 0) > 0
    }

    enum CodingKeys: String, CodingKey {
        case database, mode, sources, networksChecked = "networks_checked", networksNotChecked = "networks_not_checked"
        case counts, orphans, ghosts, drift, intents, listLimit = "list_limit", applied, inventorySeconds = "inventory_seconds", seconds
    }
}
