import Foundation
import Testing
import VMDBTestSupport
import VMRepair
import VMStore

/// The libFuzzer corpus (fuzz/corpus) replayed through the public parsers on
/// every CI run: each input is accepted or refused with a typed error, never
/// a crash. A crasher the fuzzers find goes in fuzz/corpus too, and so is
/// replayed here for good.
@Suite struct FuzzCorpusTests {
    static func corpus(_ name: String) -> [String] {
        let folder = (Fixtures.repositoryRoot as NSString).appendingPathComponent("fuzz/corpus/\(name)")
        return ((try? FileManager.default.contentsOfDirectory(atPath: folder)) ?? []).sorted()
            .map { (folder as NSString).appendingPathComponent($0) }
    }

    @Test func inventoriesAndDaemonAnswers() throws {
        let files = Self.corpus("inventory")
        #expect(!files.isEmpty)
        for file in files {
            do {
                _ = try InventoryScan.scan(file: file)
            } catch let error as RepairError {
                #expect(error.kind == .malformedInput, "\(file): \(error)")
            }
        }
    }

    @Test func networkVMIDReferences() throws {
        let files = Self.corpus("identity")
        #expect(!files.isEmpty)
        for file in files {
            let text = String(decoding: try Data(contentsOf: URL(fileURLWithPath: file)), as: UTF8.self)
            // Parsed once: accepted and round-tripping, or refused as an invalid identity (any other
            // error type fails the test by propagating; a re-parse in the else branch proved nothing).
            do {
                let identity = try VMIdentity.parse(text)
                #expect(identity.description == text && VMIdentity(identity.description) == identity, "\(file)")
                #expect(text.contains("/") && !identity.network.isEmpty && !identity.vmID.isEmpty, "\(file)")
            } catch let error as StoreError {
                #expect(error.code == .invalidIdentity, "\(file): \(error)")
            }
        }
    }

    @Test func daemonsConfigs() throws {
        let files = Self.corpus("daemons-config")
        #expect(!files.isEmpty)
        for file in files {
            do {
                let configuration = try DaemonConfiguration.parse(try Data(contentsOf: URL(fileURLWithPath: file)), origin: file)
                #expect(configuration.daemons.allSatisfy { !$0.network.isEmpty && $0.timeout > 0 }, "\(file)")
            } catch let error as RepairError {
                #expect(error.kind == .malformedInput, "\(file): \(error)")
            }
        }
    }
}
