import Foundation

/// Monotonic time for durations that an operator reads (lock hold, copy rate).
package struct Stopwatch {
    package init() {}

    private let start = DispatchTime.now().uptimeNanoseconds

    package var elapsedSeconds: Double {
        Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
    }

    package var elapsedMilliseconds: Int { Int((elapsedSeconds * 1000).rounded()) }
}
