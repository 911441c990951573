import MigrationKit

/// An error with a documented exit code and a message for the operator.
protocol OperatorFacingError: Error {
    var exitCode: Int32 { get }
    var kindName: String { get }
    var operatorMessage: String { get }
}

extension MigrationError: OperatorFacingError {
    var exitCode: Int32 {
        switch kind {
        case .usage: 64
        case .verificationFailed: 2
        case .databaseNewer: 4
        case .historyInconsistent: 5
        case .unusableInput: 65
        case .diskFull: 74
        case .busy: 75
        case .internalFailure: 1
        }
    }

    var kindName: String { kind.rawValue }
    var operatorMessage: String { message }
}
