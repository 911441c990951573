import Foundation

/// Reads a `list_vms` answer and hands each VM entry to a closure as it is read.
///
/// Accepted shapes (the daemon's whole JSON-RPC answer, or what an operator saved):
/// - `{"jsonrpc": "2.0", "id": …, "result": RESULT}` (an `"error"` member instead is reported)
/// - `RESULT` alone, or `{"network": "main", "result": RESULT}`
///
/// where RESULT is an array of VM objects, or an object whose `"vms"` member is
/// that array. A `"network"` member at the top level or in RESULT states the
/// network. Members are read in any order, and the VM array is never held whole.
struct InventoryDocumentReader {
    /// What the document said besides its entries.
    struct Summary: Equatable {
        var network: String?
        /// The `jsonrpc` member, when present.
        var jsonRPCVersion: String?
        /// A JSON-RPC error object: (code, message).
        var rpcError: RPCError?
        /// Whether a VM array was found.
        var hasEntries = false
        var entryCount = 0
    }

    struct RPCError: Equatable, Sendable {
        var code: String
        var message: String
    }

    /// A document that is valid JSON but not an inventory.
    struct ShapeError: Error, CustomStringConvertible {
        let reason: String
        var description: String { reason }
    }

    let idField: IDFieldRule
    /// The member names an entry is searched for, as bytes: keys are matched
    /// without making a `String` for each (a million entries have ten million keys).
    private let idKeys: [[UInt8]]
    // Instance constants, not statics: a static's lazy initialisation check showed in profiles.
    private let nameKey = Array("name".utf8), statusKey = Array("status".utf8)
    private let nodeIDKey = Array("node_id".utf8), nodeKey = Array("node".utf8)
    private let contractIDKey = Array("contract_id".utf8), contractKey = Array("contract".utf8)
    private let requestIDKey = Array("request_id".utf8)

    private enum Field { case id(Int), name, status, nodeID, node, contractID, contract, requestID, other }

    private func classify(_ key: [UInt8]) -> Field {
        if let slot = idKeys.firstIndex(of: key) { return .id(slot) }
        switch key {
        case nameKey: return .name
        case statusKey: return .status
        case nodeIDKey: return .nodeID
        case nodeKey: return .node
        case contractIDKey: return .contractID
        case contractKey: return .contract
        case requestIDKey: return .requestID
        default: return .other
        }
    }

    init(idField: IDFieldRule) {
        self.idField = idField
        idKeys = idField.candidates.map { Array($0.utf8) }
    }

    /// Reads the whole document from `reader`, calling `body` for each entry in order.
    func read(_ reader: inout JSONByteReader, body: (InventoryEntry) throws -> Void) throws -> Summary {
        var summary = Summary()
        guard let first = try reader.peekToken() else { throw ShapeError(reason: "is empty (no JSON at all)") }
        switch first {
        case UInt8(ascii: "["):
            try readEntries(&reader, summary: &summary, body: body)
        case UInt8(ascii: "{"):
            try readObject(&reader, summary: &summary, topLevel: true, body: body)
        case UInt8(ascii: "<"):
            throw ShapeError(reason: "is HTML or XML, not JSON (it starts with '<'): is this the daemon's JSON-RPC endpoint, or a saved list_vms answer?")
        default:
            throw ShapeError(reason: "is not valid JSON for a VM list (it starts with '\(JSONByteReader.printable(first))', not with an array or an object)")
        }
        try reader.expectEnd()
        if summary.rpcError == nil && !summary.hasEntries {
            throw ShapeError(reason: "holds no VM list: expected an array of VMs, or an object with \"result\" (a JSON-RPC answer) or \"vms\"")
        }
        return summary
    }

    private func readObject(_ reader: inout JSONByteReader, summary: inout Summary, topLevel: Bool,
                            body: (InventoryEntry) throws -> Void) throws {
        try reader.expect(UInt8(ascii: "{"), "'{'")
        if try reader.consume(UInt8(ascii: "}")) { return }
        repeat {
            let key = try reader.readString()
            try reader.expect(UInt8(ascii: ":"), "':' after a member name")
            switch key {
            case "network":
                guard case .string(let network) = try reader.readValue() else {
                    throw ShapeError(reason: "has a \"network\" that is not a string (it must name a network such as \"main\")")
                }
                if let known = summary.network, known != network {
                    throw ShapeError(reason: "names two networks (\(known) and \(network))")
                }
                summary.network = network
            case "result" where topLevel:
                switch try reader.peekToken() {
                case UInt8(ascii: "["): try readEntries(&reader, summary: &summary, body: body)
                case UInt8(ascii: "{"): try readObject(&reader, summary: &summary, topLevel: false, body: body)
                default: throw ShapeError(reason: "has a \"result\" that is neither an array of VMs nor an object with \"vms\"")
                }
            case "vms":
                guard try reader.peekToken() == UInt8(ascii: "[") else {
                    throw ShapeError(reason: "has a \"vms\" that is not an array of VMs")
                }
                try readEntries(&reader, summary: &summary, body: body)
            case "error" where topLevel:
                summary.rpcError = try readRPCError(&reader)
            case "jsonrpc" where topLevel:
                if case .string(let version) = try reader.readValue() { summary.jsonRPCVersion = version }
            default:
                try reader.skipValue(depth: 1)
            }
        } while try reader.consume(UInt8(ascii: ","))
        try reader.expect(UInt8(ascii: "}"), "',' or '}' in an object")
    }

    private func readRPCError(_ reader: inout JSONByteReader) throws -> RPCError {
        guard try reader.peekToken() == UInt8(ascii: "{") else {
            try reader.skipValue()
            return RPCError(code: "?", message: "(the error member is not an object)")
        }
        try reader.expect(UInt8(ascii: "{"), "'{'")
        var error = RPCError(code: "?", message: "")
        if try reader.consume(UInt8(ascii: "}")) { return error }
        repeat {
            let key = try reader.readString()
            try reader.expect(UInt8(ascii: ":"), "':' after a member name")
            let value = try reader.readValue(depth: 2)
            if key == "code", let text = value.text { error.code = text }
            if key == "message", let text = value.text { error.message = text }
        } while try reader.consume(UInt8(ascii: ","))
        try reader.expect(UInt8(ascii: "}"), "',' or '}' in an object")
        return error
    }

    private func readEntries(_ reader: inout JSONByteReader, summary: inout Summary, body: (InventoryEntry) throws -> Void) throws {
        if summary.hasEntries { throw ShapeError(reason: "holds two VM lists") }
        summary.hasEntries = true
        try reader.expect(UInt8(ascii: "["), "'['")
        if try reader.consume(UInt8(ascii: "]")) { return }
        repeat {
            try body(try readEntry(&reader, index: summary.entryCount))
            summary.entryCount += 1
        } while try reader.consume(UInt8(ascii: ","))
        try reader.expect(UInt8(ascii: "]"), "',' or ']' after a VM")
    }

    /// One VM object: the fields repair compares, and its exact text.
    private func readEntry(_ reader: inout JSONByteReader, index: Int) throws -> InventoryEntry {
        guard try reader.peekToken() == UInt8(ascii: "{") else {
            throw ShapeError(reason: "lists something that is not a JSON object as VM #\(index + 1)")
        }
        let start = reader.offset
        try reader.expect(UInt8(ascii: "{"), "'{'")
        var ids = [String?](repeating: nil, count: idField.candidates.count)
        var name: String?, status: String?, node: String?, contract: String?, requestID: String?
        var nodeIsPrimary = false, contractIsPrimary = false
        if !(try reader.consume(UInt8(ascii: "}"))) {
            repeat {
                try reader.readStringBytes()
                let field = classify(reader.stringBytes)
                try reader.expect(UInt8(ascii: ":"), "':' after a member name")
                if case .other = field {
                    try reader.skipValue(depth: 2)
                    continue
                }
                // A string or a number is a value; null or an object is "not given".
                let text = try reader.readValue(depth: 2).text
                switch field {
                case .id(let slot): ids[slot] = text
                case .name: name = text
                case .status: status = text
                // `node_id` / `contract_id` are the store's names; `node` / `contract` are accepted too.
                case .nodeID: node = text; nodeIsPrimary = true
                case .node: if !nodeIsPrimary { node = text }
                case .contractID: contract = text; contractIsPrimary = true
                case .contract: if !contractIsPrimary { contract = text }
                // The deployer's request id, which the daemon keeps: how repair finds an intent's VM.
                case .requestID: requestID = text
                case .other: break
                }
            } while try reader.consume(UInt8(ascii: ","))
            try reader.expect(UInt8(ascii: "}"), "',' or '}' in a VM object")
        }
        let range = start..<reader.offset
        guard let vmID = ids.lazy.compactMap({ $0 }).first else {
            throw ShapeError(reason: "holds VM #\(index + 1) without an id (looked for \(idField.candidates.map { "\"\($0)\"" }.joined(separator: ", then ")); name the field with --id-field)")
        }
        return InventoryEntry(index: index, vmID: vmID, name: name, status: status, node: node, contract: contract,
                              requestID: requestID, range: range)
    }
}
