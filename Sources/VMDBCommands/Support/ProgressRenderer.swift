import Foundation
import MigrationKit
import SQLiteFiles

/// Renders progress events as short lines on standard error.
struct ProgressRenderer: Sendable {
    let console: Console

    var handler: ProgressHandler {
        let console = console
        let state = ProgressState()
        return { event in
            switch event {
            case .started(let phase, let total):
                state.start(phase)
                console.err("vmdb: \(phase)\(total.map { " (\($0) to do)" } ?? "")…\n")
            case .advanced(let phase, let done, let total):
                guard state.shouldReport(phase) else { return }
                let elapsed = state.elapsed(phase)
                let rate = elapsed > 0 ? Double(done) / elapsed : 0
                var line = "vmdb: \(phase): \(done)"
                if let total, total > 0 {
                    line += " of \(total) (\(done * 100 / total)%)"
                    if rate > 0 { line += String(format: ", %.0f/s, %.0f s left", rate, Double(total - done) / rate) }
                } else if rate > 0 {
                    line += String(format: " (%.0f/s)", rate)
                }
                console.err(line + "\n")
            case .finished(let phase, let seconds):
                console.err(String(format: "vmdb: %@ done in %.2f s\n", phase, seconds))
            case .note(let text):
                console.err("vmdb: \(text)\n")
            }
        }
    }
}

/// Start times per phase and report throttling; shared by the progress closure.
private final class ProgressState: @unchecked Sendable {
    // @unchecked: guarded by `lock`.
    private let lock = NSLock()
    private var starts: [String: Date] = [:]
    private var lastReport: [String: Date] = [:]

    func start(_ phase: String) { lock.withLock { starts[phase] = Date() } }

    func elapsed(_ phase: String) -> Double {
        lock.withLock { starts[phase].map { Date().timeIntervalSince($0) } ?? 0 }
    }

    /// At most one line per phase per second.
    func shouldReport(_ phase: String) -> Bool {
        lock.withLock {
            let now = Date()
            if let last = lastReport[phase], now.timeIntervalSince(last) < 1 { return false }
            lastReport[phase] = now
            return true
        }
    }
}
