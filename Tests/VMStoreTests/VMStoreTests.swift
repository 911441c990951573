import Foundation
import GRDB
import Testing
import VMDBTestSupport
import VMStore

@Suite struct VMStoreTests {
    // MARK: The collision scenario of MISSION.md

    @Test func theCollisionScenario() throws {
        let fixture = try StoreFixture()
        let store = fixture.store
        try store.provision(.sample("main", "005o", name: "main-web"))
        // The same id on another network is another VM: it inserts cleanly.
        try store.provision(.sample("qa", "005o", name: "qa-smoke"))
        #expect(try store.count() == 2)

        // By id alone: ambiguous, naming both networks, never a guess.
        #expect {
            try store.vm(.ref("005o"))
        } throws: { error in
            guard let error = error as? StoreError else { return false }
            return error.code == .ambiguous && error.networks == ["main", "qa"] && error.vmID == "005o"
                && error.description.contains("main, qa")
        }
        // Writes by id alone are refused the same way, and change nothing.
        #expect(storeErrorCode { try store.delete(.ref("005o")) } == .ambiguous)
        #expect(storeErrorCode { try store.recordInstalledVersion("2.0", for: .ref("005o")) } == .ambiguous)
        #expect(try store.count() == 2)

        // Delete of 005o --network qa removes only that one.
        let deleted = try store.delete(.ref("005o", "qa"))
        #expect(deleted.identity == .id("qa", "005o"))
        #expect(deleted.name == "qa-smoke")
        #expect(try store.vm(.id("qa", "005o")) == nil)
        #expect(try store.vm(.id("main", "005o"))?.name == "main-web")
        // Now the id alone names exactly one VM.
        #expect(try store.vm(.ref("005o")).identity == .id("main", "005o"))

        // An exact duplicate is rejected, naming the pair; nothing is written.
        #expect {
            try store.provision(.sample("main", "005o", name: "again"))
        } throws: { error in
            guard let error = error as? StoreError else { return false }
            return error.code == .alreadyRecorded && error.identity == .id("main", "005o")
                && error.description.contains("main/005o")
        }
        #expect(try store.count() == 1)
        #expect(try store.vm(.id("main", "005o"))?.name == "main-web")
    }

    // MARK: Provision and lookup

    @Test func provisionWritesEveryValueAndReadsBackTheSame() throws {
        let fixture = try StoreFixture()
        let new = NewVM.sample("qa", "005o")
        let provisioned = try fixture.store.provision(new)
        #expect(provisioned.createdAt == StoreFixture.fixedNowText)
        #expect(provisioned.updatedAt == StoreFixture.fixedNowText)
        #expect(provisioned.origin == .provision)
        let read = try #require(try fixture.store.vm(new.identity))
        #expect(read == provisioned)
        #expect(read.name == new.name && read.nodeID == 11 && read.contractID == 100_231 && read.twinID == 4012)
        #expect(read.ipv4 == new.ipv4 && read.flist == new.flist && read.cpu == 2 && read.memoryMB == 4096 && read.diskGB == 50)
        #expect(read.metadata == new.metadata && read.status == .running && read.installedVersion == nil)

        // Checked independently of the store: one row, network and id side by side.
        let row = try fixture.rawQueue().read { db in
            try Row.fetchOne(db, sql: "SELECT network, vm_id, origin FROM vms WHERE id = ?", arguments: [provisioned.rowID])
        }
        #expect(row?["network"] == "qa")
        #expect(row?["vm_id"] == "005o")
        #expect(row?["origin"] == "provision")
    }

    @Test func lookupByIDAloneFollowsTheRule() throws {
        let fixture = try StoreFixture()
        let store = fixture.store
        #expect(storeErrorCode { _ = try store.vm(.ref("005o")) } == .notFound)
        try store.provision(.sample("test", "005o"))
        #expect(try store.vm(.ref("005o")).network == "test")
        for network in ["main", "qa", "dev"] { try store.provision(.sample(network, "005o")) }
        #expect {
            try store.vm(.ref("005o"))
        } throws: { error in
            (error as? StoreError)?.networks == ["dev", "main", "qa", "test"]
        }
        #expect(try store.vms(withID: "005o").map(\.network) == ["dev", "main", "qa", "test"])
        #expect(try store.vms(withID: "0069").isEmpty)
        // With the network: exactly the pair, or not found (never another network's VM).
        #expect(try store.vm(.ref("005o", "qa")).identity == .id("qa", "005o"))
        #expect {
            try store.vm(.ref("005o", "nowhere"))
        } throws: { error in
            let error = error as? StoreError
            return error?.code == .notFound && error?.identity == .id("nowhere", "005o")
        }
    }

    @Test func lookupByIDFindsIDsOnManyNetworksAmongManyRows() throws {
        let fixture = try StoreFixture()
        let networks = (0..<12).map { "net\($0)" }
        try fixture.store.write { writer in
            for (index, network) in networks.enumerated() {
                for n in 0..<50 { try writer.provision(.sample(network, String(n * 7 + index, radix: 36))) }
            }
        }
        for n in 0..<120 {
            let id = String(n, radix: 36)
            let expected = try fixture.rawQueue().read { db in
                try String.fetchAll(db, sql: "SELECT network FROM vms WHERE vm_id = ? ORDER BY network", arguments: [id])
            }
            #expect(try fixture.store.vms(withID: id).map(\.network) == expected)
        }
    }

    // MARK: Keyed writes

    @Test func updatesTouchOnlyTheirPair() throws {
        let later = Date(timeIntervalSince1970: 1_796_000_000)
        let fixture = try StoreFixture()
        let store = fixture.store
        try store.provision(.sample("main", "005o"))
        try store.provision(.sample("qa", "005o"))
        let untouched = try #require(try store.vm(.id("main", "005o")))

        let change = try store.recordInstalledVersion("1.5.0", for: .ref("005o", "qa"))
        #expect(change == VMChange(identity: .id("qa", "005o"), changedRows: 1))
        try store.recordAvailableUpdate("1.6.0", for: .ref("005o", "qa"))
        try store.recordUpdateCheck(for: .ref("005o", "qa"), at: later)
        try store.recordStatus(.stopped, for: .ref("005o", "qa"))

        let qa = try #require(try store.vm(.id("qa", "005o")))
        #expect(qa.installedVersion == "1.5.0")
        #expect(qa.availableVersion == "1.6.0")
        #expect(qa.updatesCheckedAt == Timestamp.string(from: later))
        #expect(qa.status == .stopped)
        #expect(try store.vm(.id("main", "005o")) == untouched)
    }

    /// GRDB binds text up to its first NUL, so such a value would be stored cut short: it is refused whole.
    @Test func textWithANULCharacterIsRefusedNotCutShort() throws {
        let fixture = try StoreFixture()
        let store = fixture.store
        var vm = NewVM.sample("main", "005o")
        vm.name = "web\u{0}evil"
        #expect {
            try store.provision(vm)
        } throws: { error in
            guard let error = error as? StoreError else { return false }
            return error.code == .unstorableText && error.column == "name" && error.identity == .id("main", "005o")
                && error.description.contains("NUL") && !error.description.contains("evil")
        }
        #expect(try store.count() == 0)

        var metadata = NewVM.sample("main", "005o")
        metadata.metadata = "{\"a\":\"\u{0}\"}"
        #expect(storeErrorCode { try store.provision(metadata) } == .unstorableText)
        #expect(try store.count() == 0)

        try store.provision(.sample("main", "005o"))
        let stored = try #require(try store.vm(.id("main", "005o")))
        #expect(storeErrorCode { try store.recordInstalledVersion("1.0\u{0}", for: .ref("005o", "main")) } == .unstorableText)
        #expect(storeErrorCode { try store.recordStatus(VMStatus("run\u{0}ning"), for: .ref("005o", "main")) } == .unstorableText)
        #expect(storeErrorCode { try store.recordEvent("boot", detail: "ok\u{0}", for: .ref("005o", "main")) } == .unstorableText)
        #expect(try store.vm(.id("main", "005o")) == stored)
        #expect(try store.events(of: .ref("005o", "main")).isEmpty)
    }

    @Test func writesByIDAloneResolveWhenOneNetworkHasIt() throws {
        let fixture = try StoreFixture()
        try fixture.store.provision(.sample("qa", "0071"))
        try fixture.store.provision(.sample("main", "0069"))
        #expect(try fixture.store.recordAvailableUpdate("2.0", for: .ref("0071")).identity == .id("qa", "0071"))
        #expect(try fixture.store.vm(.id("qa", "0071"))?.availableVersion == "2.0")
        #expect(try fixture.store.vm(.id("main", "0069"))?.availableVersion == nil)
    }

    @Test func writesToAMissingVMAreNotFoundAndChangeNothing() throws {
        let fixture = try StoreFixture()
        try fixture.store.provision(.sample("main", "005o"))
        let before = try fixture.store.list()
        #expect(storeErrorCode { try fixture.store.delete(.ref("005o", "qa")) } == .notFound)
        #expect(storeErrorCode { try fixture.store.recordInstalledVersion("1", for: .ref("005o", "qa")) } == .notFound)
        #expect(storeErrorCode { try fixture.store.recordAvailableUpdate("1", for: .ref("nope")) } == .notFound)
        #expect(storeErrorCode { try fixture.store.recordUpdateCheck(for: .ref("005o", "dev")) } == .notFound)
        #expect(storeErrorCode { try fixture.store.recordEvent("started", for: .ref("005o", "dev")) } == .notFound)
        #expect(try fixture.store.list() == before)
    }

    @Test func deleteTakesTheVMsEventsAndOnlyThose() throws {
        let fixture = try StoreFixture()
        let store = fixture.store
        try store.provision(.sample("main", "005o"))
        try store.provision(.sample("qa", "005o"))
        try store.recordEvent("created", for: .ref("005o", "main"))
        try store.recordEvent("created", detail: #"{"by":"twin:88"}"#, for: .ref("005o", "qa"))
        try store.recordEvent("started", for: .ref("005o", "qa"))
        #expect(try store.events(of: .ref("005o", "qa")).map(\.kind) == ["created", "started"])
        #expect(try store.events(of: .ref("005o", "qa")).first?.detail == #"{"by":"twin:88"}"#)

        try store.delete(.ref("005o", "qa"))
        #expect(try store.events(of: .ref("005o", "main")).map(\.kind) == ["created"])
        let orphanEvents = try fixture.rawQueue().read { db in
            try Int.fetchOne(db, sql: "SELECT count(*) FROM vm_events WHERE network = 'qa'")
        }
        #expect(orphanEvents == 0)
    }

    @Test func eventsByIDAloneFollowTheRule() throws {
        let fixture = try StoreFixture()
        try fixture.store.provision(.sample("main", "005o"))
        try fixture.store.provision(.sample("qa", "005o"))
        #expect(storeErrorCode { _ = try fixture.store.events(of: .ref("005o")) } == .ambiguous)
        #expect(storeErrorCode { _ = try fixture.store.events(of: .ref("zzzz")) } == .notFound)
        #expect(try fixture.store.events(of: .ref("005o", "main")).isEmpty)
    }

    // MARK: List and count

    @Test func listAndCountByNetworkAndStatus() throws {
        let fixture = try StoreFixture()
        let store = fixture.store
        try store.provision(.sample("main", "0069", status: .running))
        try store.provision(.sample("main", "005a", status: .running))
        try store.provision(.sample("main", "00b2", status: .stopped))
        try store.provision(.sample("qa", "005o", status: .running))
        try store.provision(.sample("qa", "0071", status: .error))
        try store.provision(.sample("test", "0102", status: "hibernating"))

        #expect(try store.list().map(\.identity.description) == ["main/005a", "main/0069", "main/00b2", "qa/005o", "qa/0071", "test/0102"])
        #expect(try store.list(network: "main").map(\.vmID) == ["005a", "0069", "00b2"])
        #expect(try store.list(status: .running).map(\.identity.description) == ["main/005a", "main/0069", "qa/005o"])
        #expect(try store.list(network: "qa", status: .error).map(\.vmID) == ["0071"])
        #expect(try store.list(network: "dev").isEmpty)
        #expect(try store.count() == 6)
        #expect(try store.count(network: "main") == 3)
        #expect(try store.count(status: .running) == 3)
        #expect(try store.count(network: "main", status: .stopped) == 1)
        #expect(try store.count(status: "hibernating") == 1)
        #expect(try store.networks() == ["main", "qa", "test"])
        #expect(try store.counts().first == VMCount(network: "main", status: .running, count: 2))
    }

    // MARK: Values that look like code

    static let hostileValues = [
        "'; DROP TABLE vms; --", "\" OR 1=1 --", "005o' OR '1'='1", "$(rm -rf /)", "`reboot`", "a;b|c&d>e<f",
        "%s%n%x", "\\'\\\"", "*?[]{}~#!", "日本語/中文 🙂", "  leading and trailing  ", "NULL", "null",
    ]

    /// The hot statements bind through the C API (DirectStatement): an empty text must stay
    /// text, not become NULL, and a string that is not native UTF-8 must bind the same.
    @Test func emptyAndBridgedTextIsStoredAsGiven() throws {
        let fixture = try StoreFixture()
        var new = NewVM.sample("qa", "x")
        new.name = ""
        new.ipv4 = ""
        new.flist = String(NSString(string: "日本語 ünïcode flist"))
        new.metadata = String(String(repeating: "ab", count: 40).dropFirst(3))
        try fixture.store.provision(new)
        let row = try #require(try fixture.rawQueue().read { db in
            try Row.fetchOne(db, sql: "SELECT typeof(name) AS nameType, name, typeof(ipv4) AS ipv4Type, flist, metadata FROM vms")
        })
        #expect(row["nameType"] as String? == "text" && row["name"] as String? == "")
        #expect(row["ipv4Type"] as String? == "text")
        #expect(row["flist"] as String? == "日本語 ünïcode flist")
        #expect(row["metadata"] as String? == new.metadata)
        let record = try fixture.store.vm(.id("qa", "x"))
        #expect(record?.name == "" && record?.ipv4 == "" && record?.flist == new.flist)
    }

    @Test(arguments: hostileValues)
    func valuesFullOfMetacharactersRoundTripIntact(value: String) throws {
        let fixture = try StoreFixture()
        let identity = try VMIdentity(network: "qa", vmID: value)
        var new = NewVM.sample("qa", "x")
        new.identity = identity
        new.name = value
        new.metadata = value
        new.flist = value
        try fixture.store.provision(new)
        try fixture.store.recordInstalledVersion(value, for: identity.reference)
        try fixture.store.recordEvent(value, detail: value, for: identity.reference)

        let record = try fixture.store.vm(.ref(value))
        #expect(record.vmID.utf8.elementsEqual(value.utf8))
        #expect(record.name == value && record.metadata == value && record.flist == value && record.installedVersion == value)
        #expect(try fixture.store.events(of: identity.reference).map(\.kind) == [value])
        #expect(VMIdentity(record.identity.description) == identity)
        // Every table is still there and holds exactly what was written.
        let tables = try fixture.rawQueue().read { db in
            try String.fetchAll(db, sql: "SELECT name FROM sqlite_master WHERE type = 'table' AND name LIKE 'vm%' ORDER BY name")
        }
        #expect(tables == ["vm_events", "vm_repairs", "vmdb_migrations", "vms"])
        #expect(try fixture.store.count() == 1)
        try fixture.store.delete(identity.reference)
        #expect(try fixture.store.count() == 0)
    }

    @Test func idsThatAreCanonicallyEquivalentButDifferentBytesAreDifferentVMs() throws {
        let fixture = try StoreFixture()
        try fixture.store.provision(.sample("main", "caf\u{e9}"))
        try fixture.store.provision(.sample("main", "cafe\u{301}"))
        #expect(try fixture.store.count() == 2)
        let precomposed = try fixture.store.vm(.ref("caf\u{e9}"))
        #expect(Array(precomposed.vmID.utf8) == Array("caf\u{e9}".utf8))
    }

    // MARK: Unreadable values

    @Test func anUnknownOriginIsATypedErrorNamingThePair() throws {
        let fixture = try StoreFixture()
        try fixture.store.provision(.sample("main", "005o"))
        try fixture.rawQueue().write { db in
            try db.execute(sql: "UPDATE vms SET origin = 'imported' WHERE network = 'main' AND vm_id = '005o'")
        }
        #expect {
            try fixture.store.vm(.ref("005o"))
        } throws: { error in
            let error = error as? StoreError
            return error?.code == .invalidRecord && error?.identity == .id("main", "005o") && error?.description.contains("imported") == false
        }
    }
}
