/// Something a long operation reports while it works. Commands render it on
/// standard error; the library never prints.
public enum ProgressEvent: Sendable {
    /// A phase started (`"backup"`, `"copy vms"`, `"verify"`), with its total work if known.
    case started(phase: String, total: Int?)
    /// Work done so far in the current phase.
    case advanced(phase: String, done: Int, total: Int?)
    /// The phase finished after `seconds`.
    case finished(phase: String, seconds: Double)
    /// A moment worth a line of its own as it happens (an online migration's cut-over).
    case note(String)
}

public typealias ProgressHandler = @Sendable (ProgressEvent) -> Void
