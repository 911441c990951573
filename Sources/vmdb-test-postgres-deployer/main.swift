import Foundation
import PostgresAccess
import VMStore
import VMStorePostgres

// A deployer process on PostgreSQL, for the store's contract tests (StoreContractTests):
//
//     vmdb-test-postgres-deployer URL NETWORK COUNT GO-FILE
//
// Opens the store, says `ready` on standard error, waits until GO-FILE exists (so that two of them start
// together), then provisions NETWORK/race-0 … race-(COUNT-1) in that order, printing one line per VM on
// standard output: `recorded N`, `duplicate N` (StoreError alreadyRecorded), or `error N CODE` for
// anything else. Exit 0 when every line was printed, 2 when the store could not be opened.

let arguments = CommandLine.arguments
guard arguments.count == 5, let count = Int(arguments[3]) else {
    FileHandle.standardError.write(Data("usage: vmdb-test-postgres-deployer URL NETWORK COUNT GO-FILE\n".utf8))
    exit(64)
}
let (url, network, goFile) = (arguments[1], arguments[2], arguments[4])

let store: VMStore
do {
    store = try VMStore(postgres: try PostgresLocation(url: url))
} catch {
    FileHandle.standardError.write(Data("cannot open the store: \(error)\n".utf8))
    exit(2)
}
FileHandle.standardError.write(Data("ready\n".utf8))
while !FileManager.default.fileExists(atPath: goFile) { usleep(200) }

var lines: [String] = []
for index in 0..<count {
    let vm = NewVM(identity: try VMIdentity(network: network, vmID: "race-\(index)"), name: "race-\(index)", status: .running)
    do {
        try store.provision(vm)
        lines.append("recorded \(index)")
    } catch let error as StoreError where error.code == .alreadyRecorded && error.identity == vm.identity {
        lines.append("duplicate \(index)")
    } catch let error as StoreError {
        lines.append("error \(index) \(error.code)")
    } catch {
        lines.append("error \(index) untyped")
    }
}
print(lines.joined(separator: "\n"))
try store.close()
