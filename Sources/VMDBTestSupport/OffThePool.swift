import Foundation

/// Runs blocking work (child processes, a kill sweep, a big migration) on a
/// thread of its own, within the calling task.
///
/// Swift Testing runs tests on the cooperative pool, which has one thread per
/// core: two on the CI machine. A synchronous test that waits on processes for
/// a minute holds one of them, and two such tests stall every other test in the
/// process, including any that count seconds. Long tests hand their work here.
/// It stays the same task (a task executor preference, not a detached thread),
/// so `#expect` inside still reports to the test that runs it.
public func offThePool<T>(_ body: () throws -> T) async throws -> T {
    if #available(macOS 15.0, *) {
        return try await withTaskExecutorPreference(ThreadPerJobExecutor.shared) { try body() }
    }
    return try body()   // older macOS: no task executors; the work stays on the pool
}

/// A task executor that runs each job on a new thread: meant for the few, long, blocking jobs above.
@available(macOS 15.0, *)
final class ThreadPerJobExecutor: TaskExecutor {
    static let shared = ThreadPerJobExecutor()

    func enqueue(_ job: consuming ExecutorJob) {
        let job = UnownedJob(job)
        let executor = asUnownedTaskExecutor()
        let thread = Thread { job.runSynchronously(on: executor) }
        thread.stackSize = 8 << 20
        thread.start()
    }
}
