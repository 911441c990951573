import ArgumentParser
import Foundation
import MigrationKit
import VMRepair
import VMStore
import VMStorePostgres

extension VMDB {
    /// `vmdb repair`: orphans, ghosts and drift (issue 5).
    struct Repair: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Compare daemon inventories with the store; report orphans, ghosts and drift; record orphans with --apply.",
            discussion: """
                Orphans are VMs a daemon runs that the store lacks; ghosts are records on a network whose \
                daemon was read completely and does not list them; drift is a VM both know that they describe \
                differently (status, name, node, contract). Ghosts and drift are only reported, never changed.

                The truth comes from the daemons' list_vms answers: live with --daemons CONFIG, or saved \
                with --inventory FILE… (a JSON-RPC answer, its result, or {"network": …, "vms": […]}; \
                --network names the network of files that do not state it).

                The daemons config is JSON; "timeout_seconds" (default 10) and "id_field" may \
                be set at the top or per daemon, relative socket paths are taken from the \
                config's folder, unknown keys are refused:
                  {"timeout_seconds": 10, "daemons": [
                    {"network": "main", "endpoint": "unix:///run/compute-main.sock"},
                    {"network": "qa", "endpoint": "http://127.0.0.1:8090/rpc"}]}

                Report mode (the default) writes nothing. --apply takes a backup, then records every orphan \
                (origin repair, with what the daemon said) and an audit row in vm_repairs per orphan, in one \
                transaction; a second run records nothing new.

                Exit codes: 0 store and daemons agree (or, with --apply, orphans recorded and nothing else \
                found); 3 findings (with --apply: ghosts or drift remain); 64 usage; 65 unusable database, \
                inventory or config, duplicate ids, or a database not at version 3 (run vmdb migrate first); \
                69 a daemon unreachable, too slow, or answering an error or garbage; 75 busy.
                """)

        @OptionGroup var database: DatabaseOptions
        @OptionGroup var output: OutputOptions

        @Option(name: .customLong("inventory"), parsing: .upToNextOption,
                help: ArgumentHelp("Saved list_vms answers (one per network) to compare with the store.", valueName: "file"), completion: .file())
        var inventories: [String] = []

        @Option(help: ArgumentHelp("A JSON file naming each network's daemon, asked live (see above).", valueName: "config"), completion: .file())
        var daemons: String?

        @Option(help: ArgumentHelp("The network of inventory files that do not state one (never guessed).", valueName: "name"))
        var network: String?

        @Option(help: ArgumentHelp("The entry field that carries the short id (default: vm_id, then sid, then id).", valueName: "name"))
        var idField: String?

        @Flag(help: "Record the orphans (after a backup), each with an audit row, in one transaction.")
        var apply = false

        @Option(help: ArgumentHelp("With --apply: where the backup goes (default: beside the database).", valueName: "dir"), completion: .directory)
        var backupDir: String?

        @Flag(help: "With --apply: do not take a backup first (you should have one).")
        var noBackup = false

        @Option(help: ArgumentHelp("List at most this many findings of each kind (all are counted); 0 lists all.", valueName: "n"))
        var limit: Int = 1000

        @Option(help: "Seconds to wait for the deployer's write lock before giving up (exit 75).")
        var busyTimeout: Double = 5

        @Option(help: ArgumentHelp("A pending provision intent younger than this many seconds is left alone, lease or not (v4).", valueName: "seconds"))
        var intentAge: Double = 60

        @Option(help: ArgumentHelp("Abandon an intent whose VM no daemon lists only when a scan at least this many seconds earlier missed it too (v4).", valueName: "seconds"))
        var abandonAfter: Double = 300

        func validate() throws {
            if inventories.isEmpty == (daemons == nil) {
                throw ValidationError("give either --inventory FILE… (saved list_vms answers) or --daemons CONFIG (ask the daemons live)")
            }
            if network != nil && inventories.isEmpty { throw ValidationError("--network names the network of --inventory files; a daemons config names each daemon's network") }
            if let network { try NetworkName.validate(network, option: "--network") }
            if let idField, idField.isEmpty { throw ValidationError("--id-field needs a field name") }
            if backupDir != nil && noBackup { throw ValidationError("--backup-dir and --no-backup exclude each other") }
            if (backupDir != nil || noBackup) && !apply { throw ValidationError("--backup-dir and --no-backup go with --apply") }
            if limit < 0 { throw ValidationError("--limit takes a number from 0 (0 lists every finding)") }
            guard intentAge >= 0, intentAge.isFinite, abandonAfter >= 0, abandonAfter.isFinite else {
                throw ValidationError("--intent-age and --abandon-after take 0 or more seconds")
            }
        }

        func run() async throws {
            let location = try database.location()
            let sources: [InventorySource]
            if let daemons {
                sources = try DaemonConfiguration.load(path: daemons).daemons.map { .daemon($0) }
            } else {
                sources = inventories.map { .file(path: $0, network: network) }
            }
            var options = RepairOptions()
            options.idField = idField
            options.apply = apply
            options.takesBackup = !noBackup
            options.backupDirectory = backupDir
            options.listLimit = limit == 0 ? nil : limit
            options.busyTimeout = busyTimeout
            options.intentMinimumAge = intentAge
            options.intentAbandonInterval = abandonAfter
            options.progress = output.progressHandler
            let report: RepairReport
            switch location {
            case .file(let path):
                report = try await RepairSession(databasePath: path, options: options).run(sources)
            case .postgres(let postgres):
                // The records are read into a private SQLite file and analysed with the same SQL; every
                // change goes through the store's writer, in one PostgreSQL transaction.
                let store = try VMStore(postgres: postgres, busyTimeout: busyTimeout, clock: options.clock)
                defer { try? store.close() }
                if apply && !noBackup {
                    // pg_dump first, as migrate does; repair's report holds SQLite's backup record, so this one is said here.
                    let version = store.databaseSchemaVersion
                    let backup = try await VMDB.Migrate.backup(postgres, migrator: VMDB.postgresMigrator, before: version, in: backupDir,
                                                               progress: output.progressHandler)
                    Console.current.err("vmdb: backup: \(backup.path) (\(backup.bytes) bytes, sha256 \(backup.sha256.prefix(16))…)\n")
                    options.takesBackup = false
                }
                report = try await RepairSession(store: store, options: options).run(sources)
            }
            try output.emit(report, text: { report.text() }, markdown: { report.markdown() })
            if report.needsAction { throw ExitCode(3) }
        }
    }
}
