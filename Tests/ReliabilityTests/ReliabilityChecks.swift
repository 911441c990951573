import Foundation
import GRDB
import Testing
import VMDBTestSupport

/// What the fault tests share: the heavy switch, the state a crash may leave,
/// and the checks that state must pass.
enum Reliability {
    /// `VMDB_HEAVY=1` runs the heavy variants (more kill points, bigger files).
    static let isHeavy = ProcessInfo.processInfo.environment["VMDB_HEAVY"] == "1"

    /// VMs in the crash and concurrency databases (the issue asks for at least 100,000); `VMDB_VMS=N` overrides.
    static let vmCount = Int(ProcessInfo.processInfo.environment["VMDB_VMS"] ?? "") ?? (isHeavy ? 1_000_000 : 100_000)

    /// Runs `vmdb` to completion.
    static func vmdb(_ arguments: [String]) throws -> VMDBProcess.Result {
        try VMDBProcess.run(arguments)
    }

    /// `vmdb status --format json`: what the tool says the version is.
    static func reportedVersion(_ path: String) throws -> (exitCode: Int32, version: Int?) {
        let result = try vmdb(["status", "--db", path, "--format", "json"])
        let object = try? JSONSerialization.jsonObject(with: Data(result.standardOutput.utf8)) as? [String: Any]
        return (result.exitCode, object?["currentVersion"] as? Int)
    }

    /// The history's highest version, read directly.
    static func recordedVersion(_ db: Database) throws -> Int {
        try Int.fetchOne(db, sql: "SELECT max(version) FROM vmdb_migrations") ?? 0
    }

    static func integrity(_ db: Database) throws -> [String] {
        try String.fetchAll(db, sql: "PRAGMA integrity_check")
    }

    /// Every schema object's SQL, for "the schema is exactly as it was".
    static func schema(_ db: Database) throws -> [String] {
        try String.fetchAll(db, sql: "SELECT type || ' ' || name || ' ' || coalesce(sql, '') FROM sqlite_master WHERE name NOT LIKE 'sqlite_stat%' ORDER BY type, name")
    }

    static func files(in folder: String, suffix: String) -> [String] {
        ((try? FileManager.default.contentsOfDirectory(atPath: folder)) ?? [])
            .filter { $0.hasSuffix(suffix) }.sorted().map { (folder as NSString).appendingPathComponent($0) }
    }

    static func mode(_ path: String) -> Int {
        ((try? FileManager.default.attributesOfItem(atPath: path)[.posixPermissions]) as? NSNumber)?.intValue ?? -1
    }

    /// The last phase line vmdb printed before it ended: where a kill landed.
    static func lastPhase(_ standardError: String) -> String {
        guard let line = standardError.split(separator: "\n").last(where: { $0.hasPrefix("vmdb: ") }) else {
            return "before any phase"
        }
        var phase = String(line.dropFirst(6))
        if let range = phase.range(of: " done in ") { return "after " + phase[..<range.lowerBound] }
        for stop in [" (", ":", "…"] {
            if let range = phase.range(of: stop) { phase = String(phase[..<range.lowerBound]) }
        }
        return phase
    }

    /// A backup a crash left behind is either complete (its content is `expected`)
    /// or refused by vmdb as unusable: never a silent partial copy.
    static func checkLeftoverBackup(_ backup: String, expected: ContentFingerprint, sourceLocation: SourceLocation = #_sourceLocation) throws {
        let status = try vmdb(["status", "--db", backup])
        if status.exitCode == 0 {
            #expect(try ContentFingerprint.of(backup) == expected, "backup \(backup) is readable but not a full copy", sourceLocation: sourceLocation)
            let queue = try DatabaseQueue(path: backup)
            #expect(try queue.read(integrity) == ["ok"], sourceLocation: sourceLocation)
            try queue.close()
        } else {
            #expect(status.exitCode == 65, "a partial backup must be refused as unusable: \(status.standardError)", sourceLocation: sourceLocation)
        }
    }

    /// Copies a closed database file (no `-wal`) to `destination`.
    static func copy(_ source: String, to destination: String) throws {
        for suffix in ["", "-wal", "-shm"] { try? FileManager.default.removeItem(atPath: destination + suffix) }
        try FileManager.default.copyItem(atPath: source, toPath: destination)
    }
}
