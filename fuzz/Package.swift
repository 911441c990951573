// swift-tools-version:6.1
import PackageDescription

// libFuzzer targets for the parsers that read outside input. A package of its
// own, so the main package's `swift test` never builds it. See fuzz/README.md.
//
// VMRepair is not a library product of the main package, so its sources are
// compiled here again through a symlink (Sources/FuzzedRepair -> ../../Sources/VMRepair),
// under another module name; `@testable import` reaches the internal streaming
// reader in the debug builds the fuzzers use.
let package = Package(
    name: "vmdb-fuzz",
    platforms: [.macOS(.v13)],
    dependencies: [
        .package(name: "vmdb", path: ".."),
        .package(url: "https://github.com/groue/GRDB.swift", from: "7.10.0"),
        .package(url: "https://github.com/swhitty/FlyingFox", from: "0.27.1"),
    ],
    targets: [
        .target(
            name: "FuzzedRepair",
            dependencies: [
                .product(name: "VMStore", package: "vmdb"),
                .product(name: "MigrationKit", package: "vmdb"),
                .product(name: "GRDB", package: "GRDB.swift"),
                .product(name: "FlyingFox", package: "FlyingFox"),
            ]),
        .target(name: "FuzzSupport"),
        // Inventory files and daemon answers (list_vms results, JSON-RPC errors), through the streaming reader repair uses.
        .executableTarget(name: "FuzzInventory", dependencies: ["FuzzSupport", "FuzzedRepair"]),
        // `network/vm_id` references and the identity checks.
        .executableTarget(name: "FuzzIdentity", dependencies: ["FuzzSupport", .product(name: "VMStore", package: "vmdb")]),
        // The daemons config (JSON).
        .executableTarget(name: "FuzzDaemonsConfig", dependencies: ["FuzzSupport", "FuzzedRepair"]),
        // CREATE TABLE statements through the reader table rebuilds use, checked against
        // SQLite itself; `@testable import` reaches the internal reader in debug builds.
        .executableTarget(
            name: "FuzzCreateTable",
            dependencies: [
                "FuzzSupport",
                .product(name: "MigrationKit", package: "vmdb"),
                .product(name: "GRDB", package: "GRDB.swift"),
            ]),
    ],
    swiftLanguageModes: [.v6]
)
