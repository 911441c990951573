import VMRepair

extension RepairError: OperatorFacingError {
    /// The exit codes ../shared/CLI.md documents for repair.
    var exitCode: Int32 {
        switch kind {
        case .usage: 64
        case .malformedInput, .duplicateIDs, .unusableDatabase, .databaseNotCurrent: 65
        case .databaseNewer: 4
        case .daemonUnavailable: 69
        case .busy: 75
        case .diskFull: 74
        case .internalFailure: 1
        }
    }

    var kindName: String { kind.rawValue }
    var operatorMessage: String {
        guard let file, let advice = FileAdvice.nextStep(for: file.code, path: file.path) else { return message }
        return message + advice
    }
}
