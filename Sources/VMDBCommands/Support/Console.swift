import Foundation

/// Where commands write: standard output for results, standard error for
/// progress and warnings. Tests run commands in process with a capturing console.
public final class Console: @unchecked Sendable {
    // @unchecked: every access to the buffers goes through `lock`.
    private let lock = NSLock()
    private let capturing: Bool
    private var capturedOut = ""
    private var capturedErr = ""
    /// Whether standard error is a terminal (progress is shown there by default).
    public let errorIsTerminal: Bool

    private init(capturing: Bool, errorIsTerminal: Bool) {
        self.capturing = capturing
        self.errorIsTerminal = errorIsTerminal
    }

    public static let standard = Console(capturing: false, errorIsTerminal: isatty(STDERR_FILENO) == 1)

    /// A console that keeps what is written, for tests.
    public static func capture() -> Console { Console(capturing: true, errorIsTerminal: false) }

    public func out(_ text: String) {
        lock.withLock {
            if capturing { capturedOut += text } else { FileHandle.standardOutput.write(Data(text.utf8)) }
        }
    }

    public func err(_ text: String) {
        lock.withLock {
            if capturing { capturedErr += text } else { FileHandle.standardError.write(Data(text.utf8)) }
        }
    }

    public var standardOutput: String { lock.withLock { capturedOut } }
    public var standardError: String { lock.withLock { capturedErr } }

    @TaskLocal public static var current: Console = .standard
}
