import Foundation
import SQLiteFiles

/// A private temporary folder for the daemons' answers of one run, removed with it.
///
/// An answer is written to a file and dropped from memory before it is read,
/// so only one answer is in memory at a time, and its entries are read back by
/// byte range exactly as a saved inventory's are.
final class AnswerSpool: Sendable {
    let folder: String

    init() throws {
        do {
            folder = try PrivateDirectory.make("vmdb-repair")
        } catch {
            // The environment, not a bug: TMPDIR is missing, read-only or full.
            throw RepairError(.diskFull, "cannot create a temporary folder for the daemons' answers in \(error.parent) (\(error.reason)); nothing was changed. Set TMPDIR to a writable folder")
        }
    }

    /// Writes `answer` to a new file (mode 0600) and returns its path.
    func save(_ answer: Data, for network: String) throws -> String {
        let path = (folder as NSString).appendingPathComponent("list_vms.\(network).\(UUID().uuidString).json")
        guard FileManager.default.createFile(atPath: path, contents: answer, attributes: [.posixPermissions: 0o600]) else {
            throw RepairError(.internalFailure, "cannot save the answer of the daemon for network \(network) in \(folder): check free space in TMPDIR")
        }
        return path
    }

    deinit {
        try? FileManager.default.removeItem(atPath: folder)
    }
}
