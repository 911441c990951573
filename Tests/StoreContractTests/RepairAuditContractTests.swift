import Foundation
import Testing
import VMStore

/// The audit row repair writes beside what it records (`Writer.recordRepair`): in the write's
/// transaction, on every engine.
@Suite struct RepairAuditContractTests {
    @Test(arguments: Engine.allCases)
    func anAuditRowCommitsWithTheVMAndRollsBackWithIt(engine: Engine) async throws {
        try await engine.withStore { store, database in
            try store.write { writer in
                let record = try writer.provision(.sample("main", "vm-1"), origin: .repair)
                try writer.recordRepair(record.identity, action: "recorded_orphan", source: "file main.json",
                                        entry: #"{"vm_id":"vm-1"}"#, recordedAt: "2026-11-12T13:14:15.000Z")
            }
            #expect(try database.repairRows() == [["main", "vm-1", "recorded_orphan", "file main.json", #"{"vm_id":"vm-1"}"#, "2026-11-12T13:14:15.000Z"]])

            struct Undo: Error {}
            #expect(throws: Undo.self) {
                try store.write { writer in
                    try writer.provision(.sample("main", "vm-2"), origin: .repair)
                    try writer.recordRepair(.id("main", "vm-2"), action: "recorded_orphan", source: "s", entry: "{}", recordedAt: "t")
                    throw Undo()
                }
            }
            #expect(try database.repairRows().count == 1)
            #expect(try store.vm(.id("main", "vm-2")) == nil)
        }
    }

    @Test(arguments: Engine.allCases)
    func anAuditRowHoldingANULIsRefusedByColumnAndNothingIsWritten(engine: Engine) async throws {
        try await engine.withStore { store, database throws in
            let error = storeError {
                try store.write { writer in
                    try writer.provision(.sample("main", "vm-1"), origin: .repair)
                    try writer.recordRepair(.id("main", "vm-1"), action: "recorded_orphan", source: "s", entry: "{\"a\":\"\u{0}\"}", recordedAt: "t")
                }
            }
            #expect(error?.code == .unstorableText && error?.column == "entry")
            #expect(try database.repairRows().isEmpty)
            #expect(try store.count() == 0)
        }
    }
}
