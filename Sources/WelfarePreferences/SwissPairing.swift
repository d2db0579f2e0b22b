import WelfareCore

/// Swiss rounds: tasks of similar rating meet, so the games go where they tell most. Ties in
/// rating (all of them in the first round) are broken by a seeded shuffle, so a run's pairs
/// follow from its seed and its stored choices alone, and a resumed run asks the same pairs.
public enum SwissPairing {
    /// Index pairs for one round. Each task meets the nearest-rated task it has not met yet
    /// when there is one; with an odd count the lowest-placed unpaired task sits out.
    public static func pairs(ratings: [Double], alreadyMet: Set<Pair>, seed: UInt64) -> [(Int, Int)] {
        var generator = SeededGenerator(seed: seed)
        let shuffled = Array(ratings.indices).shuffled(using: &generator)
        let position = Dictionary(uniqueKeysWithValues: shuffled.enumerated().map { ($1, $0) })
        let order = ratings.indices.sorted { a, b in
            ratings[a] != ratings[b] ? ratings[a] > ratings[b] : position[a, default: 0] < position[b, default: 0]
        }
        var unpaired = order
        var result: [(Int, Int)] = []
        while unpaired.count >= 2 {
            let top = unpaired.removeFirst()
            let partner = unpaired.firstIndex { !alreadyMet.contains(Pair(top, $0)) } ?? 0
            result.append((top, unpaired.remove(at: partner)))
        }
        return result
    }

    /// An unordered pair of task indices.
    public struct Pair: Hashable, Sendable {
        public let low: Int
        public let high: Int
        public init(_ a: Int, _ b: Int) {
            low = min(a, b)
            high = max(a, b)
        }
    }
}
