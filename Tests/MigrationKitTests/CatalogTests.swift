import Crypto
import Foundation
import MigrationKit
import ShippedMigrations
import Testing
import VMDBTestSupport

@Suite struct CatalogTests {
    let folder = (Fixtures.repositoryRoot as NSString).appendingPathComponent("migrations")

    @Test func shipsVersionsOneToFourInOrder() {
        let catalog = ShippedMigrations.catalog
        #expect(catalog.scripts.map(\.version) == [1, 2, 3, 4])
        #expect(catalog.scripts.map(\.name) == ["initial", "network_column", "network_identity", "provision_intents"])
    }

    @Test func embeddedCopyEqualsTheMigrationsFolder() throws {
        let files = try FileManager.default.contentsOfDirectory(atPath: folder).filter { $0.hasSuffix(".sql") }.sorted()
        #expect(files == ShippedMigrations.catalog.scripts.map(\.fileName),
                "migrations/ and the embedded copy differ: run scripts/embed-migrations")
        for script in ShippedMigrations.catalog.scripts {
            let text = try String(contentsOfFile: (folder as NSString).appendingPathComponent(script.fileName), encoding: .utf8)
            #expect(text.replacingOccurrences(of: "\r\n", with: "\n") == script.text,
                    "\(script.fileName) differs from the embedded copy: run scripts/embed-migrations (and never edit a shipped migration)")
        }
    }

    /// An edited or reordered shipped migration changes the chain, and this test fails.
    @Test func sumFileMatchesTheChainedChecksums() throws {
        let sums = try String(contentsOfFile: (folder as NSString).appendingPathComponent("SHA256SUMS"), encoding: .utf8)
        let lines = sums.split(separator: "\n").map { $0.split(separator: " ", omittingEmptySubsequences: true).map(String.init) }
        let catalog = ShippedMigrations.catalog
        #expect(lines.count == catalog.scripts.count)
        for (index, script) in catalog.scripts.enumerated() where index < lines.count {
            #expect(lines[index] == [script.checksum, catalog.chainedChecksums[index], script.fileName])
        }
    }

    @Test func editingAShippedFileChangesTheChain() throws {
        var files = ShippedMigrations.catalog.scripts.map { (name: $0.fileName, text: $0.text) }
        files[0].text += "-- an innocent comment\n"
        let edited = try MigrationCatalog(files: files)
        #expect(edited.chainedChecksums.last != ShippedMigrations.catalog.chainedChecksums.last)
        let reordered = try MigrationCatalog(files: [
            (name: "0001_b.sql", text: files[1].text), (name: "0002_a.sql", text: files[0].text),
        ])
        #expect(reordered.chainedChecksums.last != (try MigrationCatalog(files: Array(files.prefix(2)))).chainedChecksums.last)
    }

    @Test func lineEndingsDoNotChangeTheChecksum() throws {
        let script = ShippedMigrations.catalog.scripts[0]
        let crlf = try MigrationScript(fileName: script.fileName, text: script.text.replacingOccurrences(of: "\n", with: "\r\n"))
        #expect(crlf.checksum == script.checksum)
    }

    /// A probe checks the result and changes nothing: adding one to a shipped file keeps
    /// its checksum (every history stays consistent); any other added line changes it.
    @Test func probeLinesAreLeftOutOfTheChecksum() throws {
        let script = try #require(ShippedMigrations.catalog.script(version: 3))
        let probed = try MigrationScript(fileName: script.fileName, text: script.text + "--! probe accepts a row inserts: INSERT INTO vm_repairs (network, vm_id, action, source, entry, recorded_at) VALUES ('a', 'b', 'c', 'd', 'e', 'f')\n")
        #expect(probed.checksum == script.checksum)
        #expect(probed.definition.probes.count == script.definition.probes.count + 1)
        let commented = try MigrationScript(fileName: script.fileName, text: script.text + "-- --! probe accepts not a directive\n")
        #expect(commented.checksum != script.checksum)
    }

    @Test func aGapInVersionsIsRefused() throws {
        // The gap itself, named: not any MigrationError (a malformed file would pass too).
        let error = try #require(throws: MigrationError.self) {
            try MigrationCatalog(files: [(name: "0001_a.sql", text: "--! step\nSELECT 1;"), (name: "0003_c.sql", text: "--! step\nSELECT 1;")])
        }
        #expect(error.code == .malformedMigration && error.message.contains("without gaps") && error.message.contains("0003_c.sql"), "\(error)")
        // The same files without the gap are a catalog.
        #expect(try MigrationCatalog(files: [(name: "0001_a.sql", text: "--! step\nSELECT 1;"), (name: "0002_c.sql", text: "--! step\nSELECT 1;")]).latestVersion == 2)
    }

    @Test func directivesAreParsed() throws {
        let v3 = try #require(ShippedMigrations.catalog.script(version: 3)).definition
        #expect(v3.parameters.map(\.name) == ["default_network"])
        #expect(v3.recreations.map(\.table) == ["vms", "vm_events"])
        #expect(v3.recreations[1].copySQL != nil)
        #expect(v3.invariants.count == 2)
        #expect(v3.probes.map(\.expectation) == [.accepts, .rejects, .rejects])
        #expect(v3.expectations.map(\.column) == ["network", "origin"])
        #expect(v3.stepsBefore.count == 1 && v3.stepsAfter.count == 1)
    }

    @Test func unknownDirectivesAreRefused() throws {
        let error = try #require(throws: MigrationError.self) {
            try MigrationScript(fileName: "0001_x.sql", text: "--! frobnicate vms\nSELECT 1;")
        }
        #expect(error.code == .malformedMigration && error.message.contains("frobnicate"), "\(error)")
    }
}
