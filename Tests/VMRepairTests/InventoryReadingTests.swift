import Foundation
import Testing
@testable import VMRepair

/// The streaming reader of `list_vms` answers and the daemons config.
@Suite struct InventoryReadingTests {
    private func read(_ text: String, idField: IDFieldRule = .standard, chunkSize: Int = 1 << 20) throws -> (InventoryDocumentReader.Summary, [InventoryEntry]) {
        var entries: [InventoryEntry] = []
        var reader = JSONByteReader(data: Data(text.utf8), chunkSize: chunkSize)
        let summary = try InventoryDocumentReader(idField: idField).read(&reader) { entries.append($0) }
        return (summary, entries)
    }

    @Test("every accepted shape yields the same entries", arguments: [
        #"[{"vm_id":"005o"},{"vm_id":"0069"}]"#,
        #"{"jsonrpc":"2.0","id":7,"result":[{"vm_id":"005o"},{"vm_id":"0069"}]}"#,
        #"{"jsonrpc":"2.0","id":7,"result":{"vms":[{"vm_id":"005o"},{"vm_id":"0069"}],"network":"main"}}"#,
        #"{"vms":[{"vm_id":"005o"},{"vm_id":"0069"}],"network":"main"}"#,
        #"{"network":"main","result":[{"vm_id":"005o"},{"vm_id":"0069"}]}"#,
    ])
    func shapes(text: String) throws {
        let (summary, entries) = try read(text)
        #expect(entries.map(\.vmID) == ["005o", "0069"])
        #expect(summary.entryCount == 2)
        #expect(summary.network == nil || summary.network == "main")
    }

    @Test("the entry's byte range is exact, across chunk boundaries", arguments: [1, 3, 7, 64, 1 << 20])
    func rawEntryExact(chunkSize: Int) throws {
        let entry = "{ \"vm_id\" : \"a\\u00e9\\\"b\",\n  \"name\": \"x\\/y\", \"addresses\": {\"ipv4\": [\"10.0.0.1\"], \"n\": [1, 2.5e3, -0]}, \"ok\": true, \"none\": null }"
        let document = "[" + entry + " , {\"vm_id\": 2}]"
        let (_, entries) = try read(document, chunkSize: chunkSize)
        #expect(entries.count == 2)
        #expect(String(decoding: Array(document.utf8)[entries[0].range], as: UTF8.self) == entry)
        #expect(String(decoding: Array(document.utf8)[entries[1].range], as: UTF8.self) == "{\"vm_id\": 2}")
        #expect(entries[0].vmID == "aé\"b")
        #expect(entries[0].name == "x/y")
        #expect(entries[1].vmID == "2")   // a numeric id keeps its spelling
    }

    @Test("the id falls back from vm_id to sid to id; --id-field means exactly that field")
    func idFieldRule() throws {
        let text = #"[{"id":"c","sid":"b","vm_id":"a"},{"id":"c","sid":"b"},{"id":"c"},{"vm_id":null,"sid":"b"}]"#
        #expect(try read(text).1.map(\.vmID) == ["a", "b", "c", "b"])
        #expect(try read(#"[{"id":"c","sid":"b","vm_id":"a"},{"id":"d"}]"#, idField: .only("id")).1.map(\.vmID) == ["c", "d"])
        #expect(throws: InventoryDocumentReader.ShapeError.self) { try read(#"[{"id":"c"},{"sid":"b"}]"#, idField: .only("id")) }
    }

    @Test("drift fields: node_id and contract_id win over node and contract; numbers keep their spelling")
    func driftFields() throws {
        let (_, entries) = try read(#"[{"vm_id":"1","node":5,"node_id":7,"contract":"9","status":"running","name":"n"}]"#)
        #expect(entries[0].node == "7")
        #expect(entries[0].contract == "9")
        #expect(entries[0].status == "running")
        #expect(entries[0].name == "n")
    }

    @Test("invalid JSON is refused with its offset", arguments: [
        #"[{"vm_id":"1"},]"#, #"[{"vm_id":"1"}"#, #"[{"vm_id":"1\u00"}]"#, "[{\"vm_id\":\"a\u{1}b\"}]",
        #"[{"vm_id":"\ud800"}]"#, #"[{"vm_id":01}]"#, #"[{"vm_id":"1"}] x"#, #"[{"vm_id" "1"}]"#,
    ])
    func invalidJSON(text: String) {
        #expect(throws: (any Error).self) { try read(text) }
    }

    @Test("invalid UTF-8 in an id is refused, never repaired")
    func invalidUTF8() {
        var bytes = Array(#"[{"vm_id":"ab"}]"#.utf8)
        bytes.insert(0xFF, at: 12)
        var reader = JSONByteReader(data: Data(bytes))
        #expect(throws: (any Error).self) { try InventoryDocumentReader(idField: .standard).read(&reader) { _ in } }
    }

    @Test("a JSON-RPC error is read as such")
    func rpcError() throws {
        let (summary, entries) = try read(#"{"jsonrpc":"2.0","id":1,"error":{"code":-32601,"message":"Method not found","data":{"x":1}}}"#)
        #expect(entries.isEmpty)
        #expect(summary.rpcError == .init(code: "-32601", message: "Method not found"))
    }

    @Test("deep nesting is refused, not recursed into without bound")
    func deepNesting() {
        let text = #"[{"vm_id":"1","x":"# + String(repeating: "[", count: 10_000) + String(repeating: "]", count: 10_000) + "}]"
        #expect(throws: JSONByteReader.SyntaxError.self) { try read(text) }
    }

    // MARK: Daemons config

    @Test("a daemons config with sockets, http, timeouts and id fields")
    func configParses() throws {
        let config = try DaemonConfiguration.parse(Data("""
            {"timeout_seconds": 3, "id_field": "sid", "daemons": [
              {"network": "main", "endpoint": "unix:///run/main.sock"},
              {"network": "qa", "endpoint": "http://127.0.0.1:8090", "timeout_seconds": 30, "id_field": "vm_id"},
              {"network": "dev", "endpoint": "unix:relative.sock"}
            ]}
            """.utf8), origin: "test", relativeTo: "/etc/vmdb")
        #expect(config.daemons.map(\.network) == ["main", "qa", "dev"])
        #expect(config.daemons[0].endpoint == .unixSocket(path: "/run/main.sock"))
        #expect(config.daemons[0].timeout == 3 && config.daemons[0].idField == "sid")
        #expect(config.daemons[1].endpoint == .http(host: "127.0.0.1", port: 8090, path: "/rpc"))
        #expect(config.daemons[1].timeout == 30 && config.daemons[1].idField == "vm_id")
        #expect(config.daemons[2].endpoint == .unixSocket(path: "/etc/vmdb/relative.sock"))
    }

    @Test("a daemons config that cannot be trusted is refused", arguments: [
        "not json",
        #"{"daemons": []}"#,
        #"{"daemons": [{"network": "main"}]}"#,
        #"{"daemons": [{"network": "main", "endpoint": "https://x:1/rpc"}]}"#,
        #"{"daemons": [{"network": "main", "endpoint": "http://x/rpc"}]}"#,
        #"{"daemons": [{"network": "ma in", "endpoint": "unix:///a"}]}"#,
        #"{"daemons": [{"network": "main", "endpoint": "unix:///a"}, {"network": "main", "endpoint": "unix:///b"}]}"#,
        #"{"daemons": [{"network": "main", "endpoint": "unix:///a", "timout_seconds": 3}]}"#,
        #"{"daemons": [{"network": "main", "endpoint": "unix:///a", "timeout_seconds": -1}]}"#,
    ])
    func configRefused(text: String) {
        let error = #expect(throws: RepairError.self) { try DaemonConfiguration.parse(Data(text.utf8), origin: "daemons.json") }
        #expect(error?.kind == .malformedInput)
        #expect(error?.message.contains("daemons.json") == true)
    }
}
