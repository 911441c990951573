import ArgumentParser
import Foundation
import MigrationKit

extension VMDB {
    struct Demo: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Run the main job end to end on a sample v2 database, in a temporary folder.")

        func run() throws {
            let console = Console.current
            let folder = NSTemporaryDirectory() + "vmdb-demo-\(getpid())"
            try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
            defer { try? FileManager.default.removeItem(atPath: folder) }
            let path = folder + "/deployer.db"
            try SampleDatabase.write(to: path)
            console.out("== A v2 deployer database (mainnet and QA; qa/005o recorded, main/005o could not be) at \(path)\n\n")
            for step in [["status"], ["migrate", "--dry-run"], ["migrate"], ["status"], ["verify"]] {
                console.out("$ vmdb \(step.joined(separator: " ")) --db \(path)\n")
                let code = VMDB.execute(step + ["--db", path], console: console)
                console.out("(exit \(code))\n\n")
                guard code == 0 else { throw ExitCode(code) }
            }
        }
    }
}
