import Foundation
import GRDB

/// Where an online migration stands, kept in the database beside the new tables
/// and updated in the same transactions as the work it describes, so a crash at
/// any moment leaves a state that says exactly what is done.
struct OnlineState: Sendable, Codable {
    /// The phases of an online run; MigrationKit.docc/OnlineStateMachine.md draws them.
    enum Phase: String, Sendable, Codable {
        /// The new tables are being filled, chunk by chunk, and kept up to date.
        case copy
        /// Every row copied: catching up, verifying on a snapshot, cutting over (retried).
        case verify
        /// Cut over: the migration is applied; the old tables are being emptied.
        case drain
        /// Given up: the new tables are being emptied and everything else removed.
        case abort

        /// The phases this one may move to: the machine's only edges. (No state at all
        /// is the start and the end: the prepare writes `copy`, the last drain or abort
        /// transaction drops the state table.)
        var successors: Set<Phase> {
            switch self {
            case .copy: [.verify, .abort]
            case .verify: [.drain, .abort]
            case .drain: []
            case .abort: []
            }
        }

        /// What a run that finds this phase left does.
        enum Restart: Equatable {
            /// Resume it (an online run of the same migration file, in the current format).
            case resume
            /// Undo it: the capture triggers first, then the new tables.
            case undo
            /// Finish emptying the old tables: the migration is applied.
            case finishDrain
        }

        /// - Parameter resumable: the run finding it is online, runs the same migration file,
        ///   and reads the record's format as its own.
        func restart(resumable: Bool) -> Restart {
            switch self {
            case .copy, .verify: resumable ? .resume : .undo
            case .abort: .undo
            case .drain: .finishDrain
            }
        }
    }

    /// Moves to `next`, or refuses a move the machine does not have (a bug).
    mutating func move(to next: Phase) throws {
        guard phase.successors.contains(next) else {
            throw MigrationError(.unexpectedFailure, "the online migration cannot go from its \(phase.rawValue) phase to \(next.rawValue)")
        }
        phase = next
    }

    /// The record's layout: absent in the first (vmdb 0.x before it was added: format 1,
    /// which renamed the old indexes at the prepare). A run is resumed only from the
    /// current format; an older one is undone and started again.
    var format: Int? = OnlineState.currentFormat
    static let currentFormat = 2
    var formatNumber: Int { format ?? 1 }

    var version: Int
    /// The recreated tables, in the migration's order (their numbers in the change log).
    var tables: [String]
    /// Old indexes renamed out of the way at the prepare: renamed name -> the name to give back.
    var renamedIndexes: [String: String] = [:]
    /// The schema as it was before the prepare, for the history's record of what changed.
    var schemaBefore: SchemaSnapshot
    /// The migration file's checksum: a resumed run must be running the same one.
    var checksum: String
    var phase: Phase
    /// The schema objects the run depends on, as the prepare left them (``OnlineSchemaGuard``).
    var schemaObjects: [String: OnlineSchemaGuard.SchemaObjectText]?
    /// Per recreated table (by number), the rowid up to which (exclusive) the copy is done; nil once whole.
    var copiedBelow: [Int64?]
    /// The last change-log entry whose rows the new tables reflect.
    var appliedChange: Int64 = 0
    var startedAt: String
    /// The lock figures so far, carried over a resumed run.
    var figures = OnlineFigures()

    /// Whether the copy of table `number` has reached `rowid`.
    func isCopied(_ number: Int, _ rowid: Int64) -> Bool {
        guard let below = copiedBelow[number] else { return true }
        return rowid < below
    }

    static func read(_ db: Database, names: OnlineNames) throws -> OnlineState? {
        guard try db.tableExists(names.state) else { return nil }
        guard let json = try String.fetchOne(db, sql: "SELECT value FROM \(names.state.quotedIdentifier) WHERE key = 'state'") else { return nil }
        struct Header: Decodable { var format: Int? }
        if let format = try? JSONDecoder().decode(Header.self, from: Data(json.utf8)).format, format > currentFormat {
            throw MigrationError(.newerDatabase, "the online migration's state in \(names.state) is in format \(format), written by a newer version of this tool (this one reads formats up to \(currentFormat)); resume or undo that online migration with the version that started it, or a newer one", object: names.state)
        }
        do {
            return try JSONDecoder().decode(OnlineState.self, from: Data(json.utf8))
        } catch {
            throw MigrationError(.inconsistentHistory, "the online migration's state in \(names.state) cannot be read (\(error)); it was not written by this tool's version")
        }
    }

    func write(_ db: Database, names: OnlineNames) throws {
        let json = String(decoding: try JSONEncoder().encode(self), as: UTF8.self)
        try db.execute(sql: "INSERT OR REPLACE INTO \(names.state.quotedIdentifier) (key, value) VALUES ('state', ?)", arguments: [json])
    }
}
