/// Work over a list with at most `width` items in flight: every fan-out of the toolkit
/// (samples of a run, stories of many emotions) goes through here.
public enum Windowed {
    /// Runs `body` on each item; `onResult` gets each item's index and result as it finishes
    /// (in finishing order, on the caller's task). The first error cancels the rest.
    public static func run<Item: Sendable, Result: Sendable>(
        _ items: [Item], width: Int, _ body: @escaping @Sendable (Item) async throws -> Result,
        onResult: (Int, Result) throws -> Void = { _, _ in }
    ) async throws {
        try await withThrowingTaskGroup(of: (Int, Result).self) { group in
            var next = 0
            func startNext() {
                guard next < items.count else { return }
                let index = next, item = items[index]
                next += 1
                group.addTask { (index, try await body(item)) }
            }
            for _ in 0..<max(1, width) { startNext() }
            while let (index, result) = try await group.next() {
                try onResult(index, result)
                startNext()
            }
        }
    }
}

extension Sequence where Element: Hashable {
    /// The distinct elements in the order they first appear (categories as a bank lists them).
    public func uniquedInOrder() -> [Element] {
        var seen = Set<Element>()
        return filter { seen.insert($0).inserted }
    }
}
