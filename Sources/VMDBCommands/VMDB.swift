import ArgumentParser
import Foundation
import GRDB
import MigrationKit
import MigrationKitPostgres
import SQLiteFiles
import ShippedMigrations

/// `vmdb`: migrations, dry runs, repair and snapshots for the deployer's VM database.
public struct VMDB: AsyncParsableCommand {
    /// VERSION at the package root (BuildInfo); `--version` prints `BuildDescription.current.line`.
    public static let version = BuildDescription.current.version

    public static let configuration = CommandConfiguration(
        commandName: "vmdb",
        abstract: "Migrate, check and repair the deployer's VM database, keyed on (network, vm_id).",
        discussion: """
            Exit codes: 0 done or nothing to do; 1 bug; 2 verification failed (rolled back); \
            3 action needed (pending migrations, orphans or drift, schema drift); 4 database newer than \
            this tool; 5 history inconsistent; 64 usage; 65 input unusable; 69 daemon or PostgreSQL server unreachable; \
            74 disk full or I/O error; 75 busy, retry later.
            """,
        version: BuildDescription.current.line,
        subcommands: [
            Init.self, Status.self, Plan.self, Migrate.self, Verify.self, Backup.self, Restore.self,
            VM.self, Repair.self, Snapshots.self, Demo.self,
        ])

    public init() {}

    /// The migrator this build ships.
    static var migrator: Migrator { ShippedMigrations.migrator(toolVersion: version) }

    /// The same migrations in their PostgreSQL forms, under the same history.
    static var postgresMigrator: PostgresMigrator {
        PostgresMigrator(catalog: ShippedMigrations.postgresCatalog, toolVersion: version, configuration: ShippedMigrations.configuration)
    }

    /// Runs `vmdb` with `arguments` and returns its exit code; output goes to `console`.
    public static func execute(_ arguments: [String], console: Console = .standard) async -> Int32 {
        await Console.$current.withValue(console) {
            let wantsJSON = zip(arguments, arguments.dropFirst()).contains { $0 == "--format" && $1 == "json" }
                || arguments.contains("--format=json")
            do {
                var command = try parseAsRoot(arguments)
                if var asynchronous = command as? any AsyncParsableCommand {
                    try await asynchronous.run()   // repair: its work runs off the cooperative pool
                } else {
                    // Blocking SQLite work on the task's thread: `vmdb` runs one command per process,
                    // so it holds a thread nothing else wants (tests run several at once, as before).
                    try command.run()
                }
                return 0
            } catch let exit as ExitCode {
                return exit.rawValue
            } catch let error as DatabaseError {
                // A SQLite error no command translated: still say what it means for the file.
                let path = databasePath(in: arguments) ?? "the database"
                let wrapped = MigrationError.wrapping(error, path: path, doing: "running `vmdb \(arguments.first ?? "")`")
                report(code: wrapped.exitCode, kind: wrapped.kindName, message: wrapped.operatorMessage, json: wantsJSON, console: console)
                return wrapped.exitCode
            } catch let error as SQLiteFileError {
                // A file error a library let through untranslated: still the file's exit code.
                let wrapped = MigrationError(error)
                report(code: wrapped.exitCode, kind: wrapped.kindName, message: wrapped.operatorMessage, json: wantsJSON, console: console)
                return wrapped.exitCode
            } catch let error as any OperatorFacingError {
                report(code: error.exitCode, kind: error.kindName, message: error.operatorMessage, json: wantsJSON, console: console)
                return error.exitCode
            } catch {
                let code = exitCode(for: error).rawValue
                if code == 0 {
                    console.out(fullMessage(for: error) + "\n")   // --help, --version
                    return 0
                }
                // ArgumentParser starts its text with "Error: "; `report` adds vmdb's own prefix.
                var message = wantsJSON ? message(for: error) : fullMessage(for: error)
                if message.hasPrefix("Error: ") { message.removeFirst("Error: ".count) }
                report(code: code == 1 ? 1 : 64, kind: code == 1 ? "internalFailure" : "usage", message: message, json: wantsJSON, console: console)
                return code == 1 ? 1 : 64
            }
        }
    }

    /// The process entry point: runs and exits with the documented code.
    public static func main() async {
        Foundation.exit(await execute(Array(CommandLine.arguments.dropFirst())))
    }

    /// The `--db` argument, or `VMDB_DB`, for messages about errors no command caught.
    private static func databasePath(in arguments: [String]) -> String? {
        if let index = arguments.firstIndex(of: "--db"), index + 1 < arguments.count { return arguments[index + 1] }
        if let inline = arguments.first(where: { $0.hasPrefix("--db=") }) { return String(inline.dropFirst(5)) }
        return ProcessInfo.processInfo.environment["VMDB_DB"]
    }

    private static func report(code: Int32, kind: String, message: String, json: Bool, console: Console) {
        if json {
            struct Envelope: Encodable {
                struct Body: Encodable { let code: Int32; let kind: String; let message: String }
                let error: Body
            }
            console.out(((try? JSON.encode(Envelope(error: .init(code: code, kind: kind, message: message)))) ?? "{}") + "\n")
        } else {
            console.err("vmdb: error: \(message)\n")
        }
    }
}
