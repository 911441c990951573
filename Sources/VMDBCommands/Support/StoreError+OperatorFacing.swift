import VMStore

/// The store's errors, with the exit codes of CLI.md.
extension StoreError: OperatorFacingError {
    var exitCode: Int32 {
        switch code {
        case .invalidIdentity, .ambiguous: 64          // usage: the operator names the network
        case .notFound, .alreadyRecorded, .unstorableText, .idOnAnotherNetwork: 65  // input unusable
        case .requestIDReused, .intentNotFound, .intentConflict: 65
        case .schemaTooOld, .notManaged, .unusableDatabase, .unsupportedJournalMode, .invalidRecord: 65
        case .databaseNewer: 4
        case .busy: 75
        default: 1                                     // unexpectedChangeCount, databaseFailure: a bug to report
        }
    }

    var kindName: String { code.description }
    var operatorMessage: String { description }
}
