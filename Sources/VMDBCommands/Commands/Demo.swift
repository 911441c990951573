import ArgumentParser
import Foundation
import MigrationKit
import SQLiteFiles

extension VMDB {
    struct Demo: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Run the main job end to end on a sample v2 database, in a temporary folder.",
            discussion: """
                The sample (snapshots/v2-collision) records qa/005o; mainnet's 005o could not be recorded \
                under the global UNIQUE(vm_id) and runs as an orphan. The demo migrates the database to \
                (network, vm_id), then finds and records the orphan from the mainnet daemon's saved answer.
                """)

        func run() async throws {
            let console = Console.current
            // A fresh private folder: a predictable name could be taken, or linked, by another user first.
            let folder: String
            do {
                folder = try PrivateDirectory.make("vmdb-demo")
            } catch {
                throw MigrationError(.noTemporaryFolder, "cannot create a temporary folder for the demo in \(error.parent) (\(error.reason)): set TMPDIR to a writable folder")
            }
            defer { try? FileManager.default.removeItem(atPath: folder) }
            let path = folder + "/deployer.db"
            let inventory = folder + "/main-list_vms.json"
            try SampleDatabase.write(to: path)
            try SampleDatabase.mainnetInventory.write(toFile: inventory, atomically: true, encoding: .utf8)
            console.out("== A v2 deployer database: qa/005o is recorded; mainnet's 005o could not be, and runs as an orphan\n")
            console.out("== \(path)\n\n")
            // Each step with the exit code it must give: repair reports findings with 3.
            let steps: [(arguments: [String], expected: Int32)] = [
                (["status"], 0), (["migrate", "--dry-run"], 0), (["migrate"], 0), (["verify"], 0),
                (["repair", "--inventory", inventory], 3), (["repair", "--inventory", inventory, "--apply"], 0),
                (["repair", "--inventory", inventory], 0), (["vm", "show", "005o"], 64),
                (["vm", "list", "--network", "main"], 0),
            ]
            for step in steps {
                console.out("$ vmdb \(step.arguments.joined(separator: " ").replacingOccurrences(of: folder + "/", with: "")) --db deployer.db\n")
                let code = await VMDB.execute(step.arguments + ["--db", path], console: console)
                console.out("(exit \(code))\n\n")
                guard code == step.expected else {
                    console.err("vmdb demo: `vmdb \(step.arguments.joined(separator: " "))` exited \(code), expected \(step.expected): please report this\n")
                    throw ExitCode(1)
                }
            }
            console.out("== main/005o and qa/005o now coexist; `vmdb vm show 005o` asks which network you mean.\n")
        }
    }
}
