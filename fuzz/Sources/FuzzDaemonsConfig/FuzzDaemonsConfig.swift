import Foundation
import FuzzSupport
import FuzzedRepair

/// One libFuzzer input: a daemons config file. Parsing never crashes, and what
/// it accepts is something repair can use (a network per daemon, a positive timeout).
@main enum FuzzDaemonsConfigTarget {
    static func main() { FuzzDriver.run(fuzzDaemonsConfig) }
}

// libFuzzer's runtime also links against this name.
@_cdecl("LLVMFuzzerTestOneInput")
func fuzzDaemonsConfig(_ start: UnsafePointer<UInt8>?, _ count: Int) -> CInt {
    let data = start.map { Data(bytes: $0, count: count) } ?? Data()
    if let configuration = try? DaemonConfiguration.parse(data, origin: "fuzz.json", relativeTo: "/etc/vmdb") {
        precondition(!configuration.daemons.isEmpty)
        for daemon in configuration.daemons {
            precondition(!daemon.network.isEmpty && daemon.timeout > 0, "accepted \(daemon)")
        }
    }
    return 0
}
