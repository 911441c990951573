import Foundation
import GRDB
import Testing
import VMDBTestSupport

/// `migrate --online` beside a deployer that updates every VM in one statement, again
/// and again (python3's sqlite3, a separate process): its changes outrun the catch-up
/// after the copy. The run shows the lag as it goes and, once the lag has not shrunk
/// for `--max-lag-seconds`, stops with exit 75, resumable; never silently forever.
@Suite(.serialized) struct OnlineCatchUpTests {
    static let bulkUpdates = #"""
import os, sqlite3, sys, time
path, stop = sys.argv[1], sys.argv[2]
con = sqlite3.connect(path, timeout=60, isolation_level=None)
n = 0
while not os.path.exists(stop):
    try:
        con.execute("BEGIN IMMEDIATE")
        con.execute("UPDATE vms SET cpu = coalesce(cpu, 0) + 1")
        con.execute("COMMIT")
        n += 1
    except sqlite3.Error as error:
        try: con.execute("ROLLBACK")
        except sqlite3.Error: pass
        print("error " + str(error), file=sys.stderr, flush=True)
    time.sleep(0.01)
print(n, flush=True)
"""#

    @Test func sustainedBulkUpdatesStopTheRunWithExit75AndTheNextRunResumes() async throws {
        try await offThePool {
            let directory = try TemporaryDirectory("online-lag")
            let live = directory.file("live.db")
            try LargeDatabase.makeV2(at: live, vms: 2_000)
            let stop = directory.file("stop"), output = directory.file("updates"), errors = directory.file("update-errors")
            _ = FileManager.default.createFile(atPath: output, contents: nil)
            _ = FileManager.default.createFile(atPath: errors, contents: nil)
            let updater = Process()
            updater.executableURL = URL(fileURLWithPath: "/usr/bin/env")
            updater.arguments = ["python3", "-c", Self.bulkUpdates, live, stop]
            updater.standardOutput = try FileHandle(forWritingTo: URL(fileURLWithPath: output))
            updater.standardError = try FileHandle(forWritingTo: URL(fileURLWithPath: errors))
            try updater.run()
            defer {
                if updater.isRunning {
                    _ = FileManager.default.createFile(atPath: stop, contents: nil)
                    updater.waitUntilExit()
                }
            }
            let run = try VMDBProcess.run(["migrate", "--db", live, "--online", "--no-backup", "--progress", "--default-network", "main",
                                           "--max-lag-seconds", "1"])
            _ = FileManager.default.createFile(atPath: stop, contents: nil)
            updater.waitUntilExit()
            let updates = Int((try String(contentsOfFile: output, encoding: .utf8)).trimmingCharacters(in: .whitespacesAndNewlines)) ?? 0
            #expect(updates > 5, "the stand-in updated all rows only \(updates) times")
            #expect(try String(contentsOfFile: errors, encoding: .utf8).isEmpty, "the stand-in's writes failed")
            #expect(run.exitCode == 75, "\(run.standardError.suffix(2_000))")
            #expect(run.standardError.contains("changes pending") && run.standardError.contains("resumes"), "\(run.standardError.suffix(2_000))")
            // Not silent: the catch-up showed the lag as it went.
            #expect(run.standardError.contains("catch up with the deployer's changes (") && run.standardError.contains("pending"), "\(run.standardError.suffix(2_000))")
            let status = try VMDBProcess.run(["status", "--db", live])
            #expect(status.standardOutput.contains("online migration to 3 in progress or interrupted"), "\(status.standardOutput)")
            // Quiet now: the next online run resumes the same copy and finishes it.
            let rerun = try VMDBProcess.run(["migrate", "--db", live, "--online", "--no-backup", "--progress", "--default-network", "main"])
            #expect(rerun.exitCode == 0, "\(rerun.standardError.suffix(2_000))")
            #expect(rerun.standardError.contains("resuming"), "\(rerun.standardError.suffix(2_000))")
            #expect(try VMDBProcess.run(["verify", "--db", live]).exitCode == 0)
            let queue = try DatabaseQueue(path: live)
            defer { try? queue.close() }
            // Every update the stand-in made is in the migrated table.
            #expect(try queue.read { try Int.fetchOne($0, sql: "SELECT count(*) FROM vms WHERE coalesce(cpu, 0) < ?", arguments: [updates]) } == 0)
        }
    }
}
