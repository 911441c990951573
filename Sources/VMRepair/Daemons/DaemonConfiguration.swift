import Foundation

/// The daemons `vmdb repair --daemons FILE` asks: which network each serves and
/// where it listens.
///
/// The file is JSON:
/// ```json
/// {
///   "timeout_seconds": 10,
///   "daemons": [
///     {"network": "main", "endpoint": "unix:///run/tfgrid/compute-main.sock"},
///     {"network": "qa", "endpoint": "http://127.0.0.1:8090/rpc", "timeout_seconds": 30, "id_field": "sid"}
///   ]
/// }
/// ```
/// `timeout_seconds` (default 10) bounds each daemon's whole answer; `id_field`
/// (default: `vm_id`, then `sid`, then `id`) names the field that carries the
/// short id. Both may be set for all daemons at the top and per daemon.
/// Relative socket paths are taken from the config file's folder. Unknown keys
/// are refused, so a typo cannot silently change what is asked.
public struct DaemonConfiguration: Sendable, Hashable {
    public struct Daemon: Sendable, Hashable {
        public var network: String
        public var endpoint: DaemonEndpoint
        public var timeout: Double
        /// The id field for this daemon's entries, when the config names one.
        public var idField: String?

        public init(network: String, endpoint: DaemonEndpoint, timeout: Double = DaemonConfiguration.defaultTimeout, idField: String? = nil) {
            self.network = network
            self.endpoint = endpoint
            self.timeout = timeout
            self.idField = idField
        }
    }

    public static let defaultTimeout: Double = 10

    public var daemons: [Daemon]

    public init(daemons: [Daemon]) {
        self.daemons = daemons
    }

    /// Reads and checks the config file at `path`.
    ///
    /// - Throws: ``RepairError`` (`malformedInput`) for a missing or unreadable
    ///   file, invalid JSON, unknown keys, a bad endpoint, or two daemons on one network.
    public static func load(path: String) throws -> DaemonConfiguration {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw RepairError(.malformedInput, "cannot read the daemons config \(path): check the path and its permissions")
        }
        let folder = (path as NSString).deletingLastPathComponent
        return try parse(data, origin: path, relativeTo: folder.isEmpty ? "." : folder)
    }

    /// Parses config JSON; `origin` names it in errors.
    ///
    /// - Throws: ``RepairError`` `malformedInput`, saying what is wrong where.
    public static func parse(_ data: Data, origin: String, relativeTo folder: String? = nil) throws -> DaemonConfiguration {
        func fail(_ reason: String) -> RepairError {
            RepairError(.malformedInput, "daemons config \(origin): \(reason). See `vmdb repair --help` for its format")
        }
        let json: Any
        do {
            json = try JSONSerialization.jsonObject(with: data)
        } catch {
            throw fail("not valid JSON (\((error as NSError).userInfo[NSDebugDescriptionErrorKey] as? String ?? "parse error"))")
        }
        guard let root = json as? [String: Any] else { throw fail("the top level must be an object with \"daemons\"") }
        try checkKeys(root, allowed: ["daemons", "timeout_seconds", "id_field"], at: "the top level", fail: fail)
        let defaultTimeout = try timeout(root["timeout_seconds"], at: "timeout_seconds", fail: fail) ?? Self.defaultTimeout
        let defaultIDField = try idField(root["id_field"], at: "id_field", fail: fail)
        guard let list = root["daemons"] as? [Any], !list.isEmpty else {
            throw fail("\"daemons\" must be a non-empty array of {\"network\": …, \"endpoint\": …}")
        }
        var daemons: [Daemon] = []
        for (index, item) in list.enumerated() {
            let at = "daemons[\(index)]"
            guard let object = item as? [String: Any] else { throw fail("\(at) must be an object") }
            try checkKeys(object, allowed: ["network", "endpoint", "timeout_seconds", "id_field"], at: at, fail: fail)
            guard let network = object["network"] as? String else { throw fail("\(at) needs \"network\" (main, test, qa, dev, …)") }
            do {
                try NetworkRule.validate(network)
            } catch let error as RepairError {
                throw fail("\(at).network: \(error.message)")
            }
            guard let endpointText = object["endpoint"] as? String else {
                throw fail("\(at) needs \"endpoint\" (unix:///path/to/daemon.sock or http://HOST:PORT/rpc)")
            }
            let endpoint: DaemonEndpoint
            do {
                endpoint = try DaemonEndpoint(parsing: endpointText, relativeTo: folder)
            } catch let error as RepairError {
                throw fail("\(at): \(error.message)")
            }
            if let other = daemons.first(where: { $0.network == network }) {
                throw fail("\(at) names network \(network) again (already served by \(other.endpoint)): one daemon per network, so each network's inventory is complete")
            }
            daemons.append(Daemon(network: network, endpoint: endpoint,
                                  timeout: try timeout(object["timeout_seconds"], at: "\(at).timeout_seconds", fail: fail) ?? defaultTimeout,
                                  idField: try idField(object["id_field"], at: "\(at).id_field", fail: fail) ?? defaultIDField))
        }
        return DaemonConfiguration(daemons: daemons)
    }

    private static func checkKeys(_ object: [String: Any], allowed: Set<String>, at: String, fail: (String) -> RepairError) throws {
        if let unknown = object.keys.sorted().first(where: { !allowed.contains($0) }) {
            throw fail("unknown key \"\(unknown)\" in \(at) (known: \(allowed.sorted().joined(separator: ", ")))")
        }
    }

    private static func timeout(_ value: Any?, at: String, fail: (String) -> RepairError) throws -> Double? {
        guard let value else { return nil }
        guard let number = value as? NSNumber, number.doubleValue > 0, number.doubleValue <= 3600 else {
            throw fail("\(at) must be a number of seconds between 0 and 3600")
        }
        return number.doubleValue
    }

    private static func idField(_ value: Any?, at: String, fail: (String) -> RepairError) throws -> String? {
        guard let value else { return nil }
        guard let field = value as? String, !field.isEmpty else { throw fail("\(at) must be a non-empty field name") }
        return field
    }
}
