// swift-tools-version:6.1
import Foundation
import PackageDescription

// One library target per concern; `vmdb` is a thin executable over VMDBCommands.
// Data flows one way: commands -> (migrations | store | repair | snapshots) -> file plumbing
// (SQLiteFiles) -> GRDB -> system SQLite. Snapshots also run migrations (MigrationKit's Migrator);
// repair never does. Only the commands print and choose exit codes; MigrationKit and SQLiteFiles
// name no tool, command or flag (the store, repair and snapshots are vmdb's and may name its commands).
let package = Package(
    name: "vmdb",
    platforms: [.macOS(.v13)],
    products: [
        .executable(name: "vmdb", targets: ["vmdb"]),
        .library(name: "VMStore", targets: ["VMStore"]),
        .library(name: "MigrationKit", targets: ["MigrationKit"]),
        // PostgreSQL's side (issue 24): its own product, so a deployer on SQLite links no NIO.
        .library(name: "PostgresAccess", targets: ["PostgresAccess"]),
        .library(name: "VMStorePostgres", targets: ["VMStorePostgres"]),
    ],
    dependencies: [
        .package(url: "https://github.com/groue/GRDB.swift", from: "7.10.0"),
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.0"),
        .package(url: "https://github.com/apple/swift-crypto", from: "3.12.0"),
        .package(url: "https://github.com/x-sheep/swift-property-based", from: "2.0.0"),
        // The test daemon's HTTP server (tests only: repair's own client is a blocking HTTP/1.1 exchange).
        .package(url: "https://github.com/swhitty/FlyingFox", from: "0.27.1"),
        // PostgreSQL (issue 24, docs/POSTGRESQL-DESIGN.md); NIOSSL for its TLS settings and Logging for its
        // connections' logger, both already PostgresNIO's own dependencies.
        .package(url: "https://github.com/vapor/postgres-nio", from: "1.33.0"),
        .package(url: "https://github.com/apple/swift-nio-ssl", from: "2.25.0"),
        .package(url: "https://github.com/apple/swift-log", from: "1.5.3"),
    ],
    targets: [
        // The version (VERSION) and the commit this binary is built from, generated before each build.
        .plugin(name: "BuildInfoPlugin", capability: .buildTool()),
        .target(name: "BuildInfo", plugins: ["BuildInfoPlugin"]),
        // Connection settings SQLite offers only through variadic C calls.
        .target(name: "CSQLiteSettings", linkerSettings: [.linkedLibrary("sqlite3")]),
        // The content hash of rows, one encoding for every engine (SQLite's rows and PostgreSQL's).
        .target(name: "ContentHash", dependencies: [.product(name: "Crypto", package: "swift-crypto")]),
        // SQLite-file plumbing: opening existing files only, online backups, private folders, disk
        // space, progress events, reading a file's header without breaking this process's locks.
        .target(
            name: "SQLiteFiles",
            dependencies: [
                "CSQLiteSettings", "ContentHash",
                .product(name: "GRDB", package: "GRDB.swift"),
                .product(name: "GRDBSQLite", package: "GRDB.swift"),
                .product(name: "Crypto", package: "swift-crypto"),
            ]),
        // Generic migration framework: knows SQLite and SQL files, nothing about VMs.
        .target(
            name: "MigrationKit",
            dependencies: [
                "CSQLiteSettings", "SQLiteFiles", "ContentHash",
                .product(name: "GRDB", package: "GRDB.swift"),
                .product(name: "GRDBSQLite", package: "GRDB.swift"),
                .product(name: "Crypto", package: "swift-crypto"),
            ]),
        // The deployer's migrations (migrations/*.sql), embedded so the built tool carries them.
        .target(name: "ShippedMigrations", dependencies: ["MigrationKit"]),
        // The VM records keyed on (network, vm_id).
        .target(
            name: "VMStore",
            dependencies: [
                "SQLiteFiles",
                .product(name: "GRDB", package: "GRDB.swift"),
                .product(name: "GRDBSQLite", package: "GRDB.swift"),   // binding the hot statements directly
            ]),
        // Orphans, ghosts and drift between daemon inventories and the store.
        .target(
            name: "VMRepair",
            dependencies: [
                "VMStore", "SQLiteFiles",
                .product(name: "GRDB", package: "GRDB.swift"),
            ]),
        // Fixture snapshots: load, migrate, compare, capture.
        .target(
            name: "VMSnapshots",
            dependencies: [
                "MigrationKit", "SQLiteFiles",
                // Snapshots migrated on PostgreSQL too (Postgres/).
                "ContentHash", "MigrationKitPostgres", "PostgresAccess",
                .product(name: "PostgresNIO", package: "postgres-nio"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "GRDB", package: "GRDB.swift"),
                .product(name: "GRDBSQLite", package: "GRDB.swift"),
                .product(name: "Crypto", package: "swift-crypto"),
            ]),
        // Argument parsing, output formats and exit codes for every command.
        .target(
            name: "VMDBCommands",
            dependencies: [
                "BuildInfo", "MigrationKit", "ShippedMigrations", "SQLiteFiles", "VMStore", "VMRepair", "VMSnapshots",
                "PostgresAccess", "MigrationKitPostgres", "VMStorePostgres",
                .product(name: "GRDB", package: "GRDB.swift"),
                .product(name: "GRDBSQLite", package: "GRDB.swift"),   // sqlite3_libversion() for --version
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]),
        .executableTarget(name: "vmdb", dependencies: ["VMDBCommands"]),
        // Where a PostgreSQL database is (a postgres:// URL, libpq's PGPASSWORD, .pgpass and service file)
        // and how PostgresNIO reaches it.
        .target(
            name: "PostgresAccess",
            dependencies: [
                .product(name: "PostgresNIO", package: "postgres-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "Logging", package: "swift-log"),
            ]),
        // The store on PostgreSQL (PostgresStoreEngine): a library of its own, as fluent-postgres-driver is
        // beside fluent-kit, so that a deployer on SQLite links no NIO.
        .target(
            name: "VMStorePostgres",
            dependencies: [
                "VMStore", "PostgresAccess",
                .product(name: "PostgresNIO", package: "postgres-nio"),
                .product(name: "Logging", package: "swift-log"),
            ]),
        // MigrationKit's contract on PostgreSQL (docs/POSTGRESQL-DESIGN.md): the same catalog, history,
        // verification and errors; the content hash of a PostgreSQL table, equal to SQLite's.
        .target(
            name: "MigrationKitPostgres",
            dependencies: [
                "ContentHash", "MigrationKit", "PostgresAccess", "SQLiteFiles",
                .product(name: "PostgresNIO", package: "postgres-nio"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "GRDB", package: "GRDB.swift"),   // Copy/: reading the SQLite rows it copies
            ]),
        // Measurements behind BENCHMARKS.md; not part of the product.
        .executableTarget(
            name: "vmdb-bench",
            dependencies: [
                "MigrationKit", "ShippedMigrations", "VMStore", "VMRepair",
                .product(name: "GRDB", package: "GRDB.swift"),
                .product(name: "GRDBSQLite", package: "GRDB.swift"),
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                // postgres-store: the store on PostgreSQL beside raw PostgresNIO.
                "VMStorePostgres", "PostgresAccess", "MigrationKitPostgres",
                .product(name: "PostgresNIO", package: "postgres-nio"),
                .product(name: "Logging", package: "swift-log"),
            ]),
        // Temporary folders, fixture databases, helpers shared by the test targets.
        .target(
            name: "VMDBTestSupport",
            dependencies: [
                "MigrationKit", "ShippedMigrations", "SQLiteFiles", "VMStore",
                .product(name: "GRDB", package: "GRDB.swift"),
            ]),
        // A PostgreSQL database of a test's own on the test server, for every test target that needs one.
        .target(
            name: "PostgresTestSupport",
            dependencies: [
                "PostgresAccess", "VMDBTestSupport",
                .product(name: "PostgresNIO", package: "postgres-nio"),
                .product(name: "Logging", package: "swift-log"),
            ]),
        // The compute daemon the repair tests talk to, in its own process (see TestDaemon).
        .executableTarget(
            name: "vmdb-test-daemon",
            dependencies: [
                "VMDBTestSupport",
                .product(name: "FlyingFox", package: "FlyingFox"),
                .product(name: "FlyingSocks", package: "FlyingFox"),
            ]),
        // A deployer process on PostgreSQL for the store's contract tests: provisions what it is told
        // when told to, and prints what the store answered (two of them race on one database).
        .executableTarget(
            name: "vmdb-test-postgres-deployer",
            dependencies: ["VMStore", "VMStorePostgres", "PostgresAccess"]),
        .testTarget(
            name: "SQLiteFilesTests",
            dependencies: ["SQLiteFiles", "VMDBTestSupport", .product(name: "GRDB", package: "GRDB.swift")]),
        .testTarget(
            name: "MigrationKitTests",
            dependencies: [
                "MigrationKit", "ShippedMigrations", "SQLiteFiles", "VMDBTestSupport",
                .product(name: "GRDB", package: "GRDB.swift"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "PropertyBased", package: "swift-property-based"),
            ]),
        .testTarget(
            name: "VMStoreTests",
            dependencies: [
                "VMStore", "MigrationKit", "VMDBTestSupport",
                .product(name: "GRDB", package: "GRDB.swift"),
                .product(name: "GRDBSQLite", package: "GRDB.swift"),
                .product(name: "PropertyBased", package: "swift-property-based"),
            ]),
        // The store's behaviour, written once and run on every engine (SQLite, PostgreSQL).
        .testTarget(
            name: "StoreContractTests",
            dependencies: [
                "VMStore", "VMStorePostgres", "PostgresAccess", "MigrationKitPostgres", "ShippedMigrations", "VMDBTestSupport",
                .product(name: "GRDBSQLite", package: "GRDB.swift"),
                .product(name: "PostgresNIO", package: "postgres-nio"),
                .product(name: "PropertyBased", package: "swift-property-based"),
            ]),
        .testTarget(
            name: "VMRepairTests",
            dependencies: [
                "VMRepair", "VMStore", "MigrationKit", "SQLiteFiles", "VMDBTestSupport", .product(name: "GRDB", package: "GRDB.swift"),
                // Repair on PostgreSQL, beside SQLite (RepairAcrossEnginesTests).
                "VMStorePostgres", "PostgresAccess", "PostgresTestSupport", "MigrationKitPostgres", "ShippedMigrations",
                .product(name: "PostgresNIO", package: "postgres-nio"),
            ]),
        .testTarget(
            name: "VMSnapshotsTests",
            dependencies: ["VMSnapshots", "MigrationKit", "MigrationKitPostgres", "ShippedMigrations", "SQLiteFiles", "VMDBTestSupport", .product(name: "GRDB", package: "GRDB.swift")]),
        // Crashes, concurrent writers, full disks and bad input (issue 8).
        .testTarget(
            name: "ReliabilityTests",
            dependencies: [
                "MigrationKit", "VMStore", "VMRepair", "VMDBCommands", "VMDBTestSupport",
                .product(name: "GRDB", package: "GRDB.swift"),
            ]),
        .testTarget(
            name: "MigrationKitPostgresTests",
            dependencies: [
                "MigrationKitPostgres", "MigrationKit", "ShippedMigrations", "ContentHash", "PostgresAccess", "SQLiteFiles", "VMDBTestSupport", "PostgresTestSupport",
                .product(name: "PostgresNIO", package: "postgres-nio"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "GRDB", package: "GRDB.swift"),
            ]),
        .testTarget(
            name: "PostgresAccessTests",
            dependencies: [
                "PostgresAccess", "VMDBTestSupport",
                .product(name: "PostgresNIO", package: "postgres-nio"),
            ]),
        .testTarget(
            name: "VMDBCommandsTests",
            dependencies: ["VMDBCommands", "MigrationKit", "VMStore", "VMDBTestSupport", "PostgresTestSupport", .product(name: "GRDB", package: "GRDB.swift")]),
    ],
    swiftLanguageModes: [.v6]
)

// CI builds with warnings as errors (`.ci/run` sets VMDB_WARNINGS_AS_ERRORS); only this
// package's Swift targets, never the dependencies', whose warnings are not ours to fix. Not the
// C target, and not the plugin: a plugin takes no Swift settings.
if ProcessInfo.processInfo.environment["VMDB_WARNINGS_AS_ERRORS"] != nil {
    for target in package.targets where target.name != "CSQLiteSettings" && target.type != .plugin {
        target.swiftSettings = (target.swiftSettings ?? []) + [.unsafeFlags(["-warnings-as-errors"])]
    }
}
