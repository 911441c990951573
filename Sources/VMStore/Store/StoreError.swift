/// An error from the store, carrying the VM's pair (or the reference, or the
/// database's versions) and a message that says what to do next.
///
/// Messages name the identity, the networks and the file, never other record
/// values. Match on ``code``; new codes may be added.
public struct StoreError: Error, Sendable, Hashable, CustomStringConvertible {
    /// What went wrong, without its details (which are properties of the error).
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        private let name: String
        private init(_ name: String) { self.name = name }
        public var description: String { name }

        /// An identity or reference part is empty, too long or holds a forbidden character.
        public static let invalidIdentity = Code("invalidIdentity")
        /// No VM matches the reference.
        public static let notFound = Code("notFound")
        /// The id alone exists on several networks: ``StoreError/networks`` names them.
        public static let ambiguous = Code("ambiguous")
        /// Provision of a pair that is already recorded.
        public static let alreadyRecorded = Code("alreadyRecorded")
        /// On a v2 database, provision of an id another network has: v2's globally unique
        /// `vm_id` refuses it (``StoreError/networks`` names both). v3 records it.
        public static let idOnAnotherNetwork = Code("idOnAnotherNetwork")
        /// The database is at an older schema version: run `vmdb migrate`.
        public static let schemaTooOld = Code("schemaTooOld")
        /// The database is at a newer schema version than this build, and a migration
        /// since does not declare that it keeps this store working (it names which).
        public static let databaseNewer = Code("databaseNewer")
        /// The database has no migration history, and its VM tables have no version's shape (a file
        /// that never saw vmdb but is a v2 or v3 deployer database opens as it is).
        public static let notManaged = Code("notManaged")
        /// No database at the path, or not a readable SQLite database.
        public static let unusableDatabase = Code("unusableDatabase")
        /// The database's journal mode (or the connection's, for a store on the
        /// deployer's own connections) is one the store cannot keep its promises in.
        public static let unsupportedJournalMode = Code("unsupportedJournalMode")
        /// Another connection held the database past the busy timeout.
        public static let busy = Code("busy")
        /// A keyed write changed a number of rows other than one.
        public static let unexpectedChangeCount = Code("unexpectedChangeCount")
        /// A stored value this build cannot read (such as an unknown origin).
        public static let invalidRecord = Code("invalidRecord")
        /// A text value to write holds a NUL character, which would be cut off there: nothing is written.
        public static let unstorableText = Code("unstorableText")
        /// Any other SQLite error.
        public static let databaseFailure = Code("databaseFailure")
        /// A provision request id already names another request on that network (other
        /// name, node or size): ``StoreError/fields`` names what differs. Use a new request id.
        public static let requestIDReused = Code("requestIDReused")
        /// No provision intent has this request id on this network.
        public static let intentNotFound = Code("intentNotFound")
        /// The intent is closed in a way the call contradicts (recorded with another
        /// vm id, or failed once its VM was recorded): nothing was written.
        public static let intentConflict = Code("intentConflict")
    }

    package enum Reason: Sendable, Hashable {
        case invalidIdentity(reason: String)
        case notFound(VMReference)
        case ambiguous(vmID: String, networks: [String])
        case alreadyRecorded(VMIdentity)
        case schemaTooOld(path: String, found: Int, expected: Int)
        case databaseNewer(path: String, found: Int, expected: Int, refusal: String)
        case notManaged(path: String)
        case unusableDatabase(path: String, reason: String)
        case hotJournal(path: String)
        case unsupportedJournalMode(path: String, mode: String, why: String)
        case busy(path: String)
        case unexpectedChangeCount(VMIdentity, operation: String, changed: Int)
        case invalidRecord(VMIdentity, column: String, reason: String)
        case unstorableText(VMIdentity, column: String)
        case databaseFailure(path: String, resultCode: Int32, detail: String)
        case idOnAnotherNetwork(VMIdentity, existing: String, path: String)
        case needsVersion(path: String, found: Int, needed: Int, feature: String)
        case requestIDReused(network: String, requestID: String, fields: [String])
        case intentNotFound(network: String, requestID: String)
        case intentConflict(network: String, requestID: String, reason: String)
        case unstorableRequestText(network: String, requestID: String, column: String)
        /// A PostgreSQL server's error: its SQLSTATE and message.
        case serverFailure(location: String, sqlState: String, detail: String)
        /// PostgreSQL refused the transaction so that it can be retried: a lock not had within `lock_timeout`
        /// (55P03), a serialization failure (40001), a deadlock (40P01), a concurrent insert of the same key.
        case serverBusy(location: String, sqlState: String, detail: String)
    }

    let reason: Reason

    package init(_ reason: Reason) { self.reason = reason }

    public var code: Code {
        switch reason {
        case .invalidIdentity: .invalidIdentity
        case .notFound: .notFound
        case .ambiguous: .ambiguous
        case .alreadyRecorded: .alreadyRecorded
        case .schemaTooOld, .needsVersion: .schemaTooOld
        case .databaseNewer: .databaseNewer
        case .notManaged: .notManaged
        case .unusableDatabase, .hotJournal: .unusableDatabase
        case .unsupportedJournalMode: .unsupportedJournalMode
        case .busy, .serverBusy: .busy
        case .unexpectedChangeCount: .unexpectedChangeCount
        case .invalidRecord: .invalidRecord
        case .unstorableText, .unstorableRequestText: .unstorableText
        case .databaseFailure, .serverFailure: .databaseFailure
        case .idOnAnotherNetwork: .idOnAnotherNetwork
        case .requestIDReused: .requestIDReused
        case .intentNotFound: .intentNotFound
        case .intentConflict: .intentConflict
        }
    }

    /// The pair the error is about, when there is exactly one.
    public var identity: VMIdentity? {
        switch reason {
        case .alreadyRecorded(let identity), .unexpectedChangeCount(let identity, _, _), .invalidRecord(let identity, _, _),
             .unstorableText(let identity, _), .idOnAnotherNetwork(let identity, _, _):
            identity
        case .notFound(let reference):
            reference.identity
        default:
            nil
        }
    }

    /// The reference that matched no VM.
    public var reference: VMReference? {
        if case .notFound(let reference) = reason { return reference }
        return nil
    }

    /// The vm id the error is about (an ambiguous id, or the id of ``identity``).
    public var vmID: String? {
        switch reason {
        case .ambiguous(let vmID, _): vmID
        case .notFound(let reference): reference.vmID
        default: identity?.vmID
        }
    }

    /// For an ambiguous id, or an id refused on v2: every network that has (or wants) it, sorted.
    public var networks: [String] {
        if case .ambiguous(_, let networks) = reason { return networks }
        if case .idOnAnotherNetwork(let identity, let existing, _) = reason { return [existing, identity.network].sorted() }
        return []
    }

    /// For a database failure: SQLite's result code (13 full, 10 I/O error, …).
    public var resultCode: Int32? {
        if case .databaseFailure(_, let resultCode, _) = reason { return resultCode }
        return nil
    }

    /// For a PostgreSQL server's failure or refusal: its SQLSTATE (`55P03` lock_not_available, …).
    public var sqlState: String? {
        switch reason {
        case .serverFailure(_, let sqlState, _), .serverBusy(_, let sqlState, _): sqlState
        default: nil
        }
    }

    /// For a version refusal: the database's schema version and the one this build opens.
    public var versions: (found: Int, expected: Int)? {
        switch reason {
        case .schemaTooOld(_, let found, let expected), .databaseNewer(_, let found, let expected, _),
             .needsVersion(_, let found, let expected, _): (found, expected)
        default: nil
        }
    }

    /// For an unsupported journal mode: the mode.
    public var journalMode: String? {
        if case .unsupportedJournalMode(_, let mode, _) = reason { return mode }
        return nil
    }

    /// A read-only connection met a hot journal, which only a connection that may write can roll back.
    var isHotJournal: Bool {
        if case .hotJournal = reason { return true }
        return false
    }

    /// For a value refused or unreadable: its column.
    public var column: String? {
        switch reason {
        case .invalidRecord(_, let column, _), .unstorableText(_, let column), .unstorableRequestText(_, _, let column): column
        default: nil
        }
    }

    /// For a reused request id: the request's fields that differ from the stored one's.
    public var fields: [String] {
        if case .requestIDReused(_, _, let fields) = reason { return fields }
        return []
    }

    /// For a provision intent error: the network and the request id.
    public var request: (network: String, requestID: String)? {
        switch reason {
        case .requestIDReused(let network, let requestID, _), .intentNotFound(let network, let requestID),
             .intentConflict(let network, let requestID, _), .unstorableRequestText(let network, let requestID, _):
            (network, requestID)
        default: nil
        }
    }

    /// For a failed write: the rows it changed.
    public var changedRows: Int? {
        if case .unexpectedChangeCount(_, _, let changed) = reason { return changed }
        return nil
    }

    public var description: String {
        switch reason {
        case .invalidIdentity(let reason):
            return "invalid VM identity: \(reason)"
        case .notFound(let reference):
            if let identity = reference.identity {
                return "no VM \(identity) is recorded (vm id \(quoted(reference.vmID)) on network \(identity.network)); `vmdb vm list --network \(identity.network)` shows what is"
            }
            return "no VM with id \(quoted(reference.vmID)) is recorded on any network; `vmdb vm list` shows what is"
        case .ambiguous(let vmID, let networks):
            return "vm id \(quoted(vmID)) is recorded on \(networks.count) networks (\(networks.joined(separator: ", "))): say which with a network (for example --network \(networks.first ?? "main"), or \(networks.first ?? "main")/\(vmID))"
        case .alreadyRecorded(let identity):
            return "VM \(identity) is already recorded (network \(identity.network), vm id \(quoted(identity.vmID))): nothing was written. The same id on another network is a different VM; this exact pair can be recorded once"
        case .idOnAnotherNetwork(let identity, let existing, let path):
            return "VM \(identity) cannot be recorded yet: \(path) is at schema version 2, whose vm_id is unique across networks, and network \(existing) already has vm id \(quoted(identity.vmID)). Nothing was written. Version 3 keys VMs on (network, vm_id): `vmdb migrate --db \(path) --online` upgrades it while the deployer keeps running, and this provision then succeeds"
        case .schemaTooOld(let path, let found, let expected):
            // On PostgreSQL the store starts at v3 (its forms have the identity from there); a location's description starts so.
            let oldest = path.hasPrefix("postgres://") ? 3 : VMStore.supportedVersions.lowerBound
            return "\(path) is at schema version \(found); this store opens versions \(oldest) to \(expected). Run `vmdb migrate --db \(path)` first (it takes a backup), then retry"
        case .needsVersion(let path, let found, let needed, let feature):
            return "\(feature) need schema version \(needed); \(path) is at version \(found). Nothing was written. `vmdb migrate --db \(path) --online` adds them while the deployer keeps running; every other store call works meanwhile"
        case .requestIDReused(let network, let requestID, let fields):
            return "request id \(quoted(requestID)) on network \(network) already names another provision (its \(fields.joined(separator: ", ")) differ): nothing was written. A request id names one request; give this one a new id (`vmdb vm intents --db … --network \(network)` lists them)"
        case .intentNotFound(let network, let requestID):
            return "no provision intent has request id \(quoted(requestID)) on network \(network): call beginProvision before the daemon, with the same request id"
        case .intentConflict(let network, let requestID, let reason):
            return "provision intent \(quoted(requestID)) on network \(network) \(reason); nothing was written"
        case .unstorableRequestText(let network, let requestID, let column):
            return "the \(column) given for provision request \(quoted(requestID)) on network \(network) contains a NUL character (U+0000), which SQLite would cut off there; nothing was written. Remove the character and retry"
        case .databaseNewer(let path, let found, let expected, let refusal):
            return "\(path) is at schema version \(found), newer than this build of the store (\(expected)), and \(refusal): use a vmdb or deployer built for version \(found) or later; nothing was changed"
        case .notManaged(let path):
            return "\(path) has no vmdb migration history, and its VM tables have the shape of no version this store knows: run `vmdb status --db \(path)`, then `vmdb migrate --db \(path)` (it records the version it finds and migrates)"
        case .unusableDatabase(let path, let reason):
            return "\(path): \(reason)"
        case .hotJournal(let path):
            return "\(path) has a hot journal (\(path)-journal): a writer stopped in the middle of a transaction, and its changes must be rolled back before anything reads the file. Rolling back needs write access to the file and its folder, which this process does not have: open it once as a user who can write it (any vmdb or sqlite3 command rolls it back), then retry. Do not delete the journal: the file would keep half a transaction"
        case .unsupportedJournalMode(let path, let mode, let why):
            return "\(path): the store cannot work in journal mode \(mode): \(why); nothing was changed"
        case .busy(let path):
            return "\(path) stayed locked by another connection past the busy timeout; nothing was changed. Retry when the other write (a migration, the deployer) finishes"
        case .unexpectedChangeCount(let identity, let operation, let changed):
            return "\(operation) of VM \(identity) changed \(changed) rows instead of 1; it was rolled back. This is a bug or a concurrent change: check `vmdb vm show \(identity)`"
        case .invalidRecord(let identity, let column, let reason):
            return "VM \(identity) holds a value this vmdb cannot read in column \(column) (\(reason)); check it with `vmdb verify`"
        case .unstorableText(let identity, let column):
            return "the \(column) given for VM \(identity) contains a NUL character (U+0000), which SQLite would cut off there; nothing was written. Remove the character and retry"
        case .databaseFailure(let path, let resultCode, let detail):
            return "SQLite error \(resultCode) on \(path): \(detail). Nothing was changed; if it persists, report it with the output of `vmdb status --db \(path)`"
        case .serverFailure(let location, let sqlState, let detail):
            return "PostgreSQL error \(sqlState) on \(location): \(detail). Nothing of the transaction was committed; if it persists, report it with the server's log"
        case .serverBusy(let location, let sqlState, let detail):
            return "\(location) refused the transaction for a concurrent one (SQLSTATE \(sqlState): \(detail)); nothing was changed. Retry it"
        }
    }

    private func quoted(_ text: String) -> String { "'\(text)'" }
}
