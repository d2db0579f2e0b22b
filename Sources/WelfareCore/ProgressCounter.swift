import Foundation

/// Counts units of work as they are committed, from any task, and reports each new count.
public final class ProgressCounter: @unchecked Sendable {
    private let lock = NSLock()
    private var done: Int
    public let total: Int
    let report: @Sendable (Int, Int) -> Void

    /// Reports the starting count (work done by an earlier execution) at once.
    public init(done: Int, total: Int, report: @escaping @Sendable (Int, Int) -> Void) {
        self.done = done
        self.total = total
        self.report = report
        report(done, total)
    }

    public func add() {
        let now = lock.withLock { () -> Int in
            done += 1
            return done
        }
        report(now, total)
    }
}
