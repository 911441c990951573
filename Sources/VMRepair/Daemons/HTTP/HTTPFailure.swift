import Foundation

/// Why an HTTP exchange with a daemon did not produce a response.
enum HTTPFailure: Error, Equatable {
    /// The connection could not be made (`errno` from connect, or from resolving the host).
    case cannotConnect(String)
    /// The peer closed the connection before a complete response.
    case closedEarly
    /// The bytes that came back are not an HTTP/1.x response.
    case notHTTP(String)
    /// The deadline passed before the response was complete.
    case deadlineExceeded
    /// A socket call failed after the connection was made.
    case io(String)
}
