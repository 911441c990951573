import PostgresAccess

/// A PostgreSQL URL vmdb cannot use: usage (64) for the URL's own text, unusable input (65) for a
/// file it names (a service file, a CA). The messages mask the password already.
extension PostgresLocationError: OperatorFacingError {
    var exitCode: Int32 {
        switch self {
        case .notAPostgresURL, .malformed, .unknownOption, .invalidOption: 64
        case .serviceNotFound, .badServiceFile, .missingRootCertificate: 65
        }
    }

    var kindName: String { exitCode == 64 ? "usage" : "unusableInput" }

    var operatorMessage: String { description }
}

/// A server vmdb could not reach (69, as an unreachable daemon) or that refused the login or a
/// statement outside a migration (65: the credentials or the role's rights are the input to fix).
extension PostgresConnectionError: OperatorFacingError {
    var exitCode: Int32 {
        switch self {
        case .unreachable: 69
        case .authenticationFailed, .server: 65
        }
    }

    var kindName: String { exitCode == 69 ? "unreachable" : "unusableInput" }

    var operatorMessage: String { description }
}
