import Foundation

/// Monotonic time for durations that an operator reads (lock hold, copy rate).
struct Stopwatch {
    private let start = DispatchTime.now().uptimeNanoseconds

    var elapsedSeconds: Double {
        Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
    }

    var elapsedMilliseconds: Int { Int((elapsedSeconds * 1000).rounded()) }
}

enum Timestamp {
    /// ISO 8601 with milliseconds, UTC: what the history table stores.
    static func now() -> String {
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        return formatter.string(from: Date())
    }
}
