import Foundation
import Testing
import VMStore

@Suite struct VMIdentityTests {
    @Test(arguments: [
        ("main", "005o"), ("qa", "0069"), ("dev", "a/b/c"), ("test", " spaced id "), ("main", "'; DROP TABLE vms; --"),
        ("qa", "$(rm -rf ~)"), ("main", "\"quoted\" `ticks` \\back"), ("main", "é-ü-日本-🙂"), ("x", String(repeating: "z", count: 255)),
    ])
    func canonicalTextRoundTrips(network: String, vmID: String) throws {
        let identity = try VMIdentity(network: network, vmID: vmID)
        #expect(identity.description == "\(network)/\(vmID)")
        let parsed = try #require(VMIdentity(identity.description))
        #expect(parsed == identity)
        #expect(parsed.vmID.utf8.elementsEqual(vmID.utf8))
        #expect(parsed.network == network)
    }

    @Test func idMayHoldSlashesAndTheNetworkEndsAtTheFirst() throws {
        let identity = try VMIdentity.parse("qa/005o/extra")
        #expect(identity.network == "qa")
        #expect(identity.vmID == "005o/extra")
    }

    @Test(arguments: [
        ("", "005o", "network is empty"),
        ("main", "", "vm id is empty"),
        ("ma/in", "005o", "'/'"),
        ("ma in", "005o", "whitespace"),
        ("main\n", "005o", "control character"),
        ("main", "00\u{0}5o", "control character (U+0000)"),
        ("main", "005o\n", "control character (U+000A)"),
        ("main", "005\u{1b}[31m", "control character (U+001B)"),
        ("main", "x\u{85}", "control character (U+0085)"),
        (String(repeating: "n", count: 65), "005o", "longer than 64"),
        ("main", String(repeating: "z", count: 256), "longer than 255"),
        ("main", String(repeating: "é", count: 128), "longer than 255"),
    ])
    func invalidPartsAreRejectedWithAClearReason(network: String, vmID: String, reason: String) {
        #expect {
            try VMIdentity(network: network, vmID: vmID)
        } throws: { error in
            let error = error as? StoreError
            return error?.code == .invalidIdentity && error?.description.contains(reason) == true
        }
    }

    @Test func textWithoutASlashDoesNotParse() throws {
        #expect(VMIdentity("005o") == nil)
        #expect(VMIdentity("/005o") == nil)
        #expect(VMIdentity("main/") == nil)
        #expect(try #require(throws: StoreError.self) { try VMIdentity.parse("005o") }.code == .invalidIdentity)
    }

    @Test func equalityIsByteExactNotCanonicalEquivalence() throws {
        // "é" precomposed and "e" + combining acute are equal Swift Strings but
        // different daemon ids: SQLite compares bytes, and so must the identity.
        let precomposed = try VMIdentity(network: "main", vmID: "caf\u{e9}")
        let decomposed = try VMIdentity(network: "main", vmID: "cafe\u{301}")
        #expect(precomposed.vmID == decomposed.vmID)
        #expect(precomposed != decomposed)
        #expect(Set([precomposed, decomposed]).count == 2)
    }

    @Test func ordersByNetworkThenID() {
        let sorted = [VMIdentity.id("qa", "005o"), .id("main", "0069"), .id("main", "005o")].sorted()
        #expect(sorted.map(\.description) == ["main/005o", "main/0069", "qa/005o"])
    }

    @Test func codableUsesColumnNamesAndValidates() throws {
        let identity = VMIdentity.id("qa", "005o")
        let json = String(decoding: try JSONEncoder().encode(identity), as: UTF8.self)
        #expect(json.contains(#""vm_id":"005o""#))
        #expect(try JSONDecoder().decode(VMIdentity.self, from: Data(json.utf8)) == identity)
        #expect(throws: StoreError.self) {
            try JSONDecoder().decode(VMIdentity.self, from: Data(#"{"network":"a/b","vm_id":"1"}"#.utf8))
        }
    }

    @Test func referenceNamesAnIdentityOnlyWithANetwork() throws {
        #expect(VMReference.ref("005o").identity == nil)
        #expect(VMReference.ref("005o").description == "005o")
        #expect(VMReference.ref("005o", "qa").identity == .id("qa", "005o"))
        #expect(VMReference.ref("005o", "qa").description == "qa/005o")
        #expect(try #require(throws: StoreError.self) { try VMReference(vmID: "005o", network: "") }.code == .invalidIdentity)
        #expect(try #require(throws: StoreError.self) { try VMReference(vmID: "") }.code == .invalidIdentity)
    }

    @Test func timestampsAreISO8601InUTC() {
        #expect(Timestamp.string(from: Date(timeIntervalSince1970: 0)) == "1970-01-01T00:00:00Z")
        #expect(Timestamp.string(from: Date(timeIntervalSince1970: 1_767_521_472.9)) == "2026-01-04T10:11:12Z")
        #expect(Timestamp.string(from: Date(timeIntervalSince1970: 951_782_400)) == "2000-02-29T00:00:00Z")
        #expect(Timestamp.string(from: Date(timeIntervalSince1970: -1)) == "1969-12-31T23:59:59Z")
    }
}
