import Foundation
import WelfareCore
import WelfareHarness
import WelfareReports
import WelfareStore

/// Closing sentiment ratings in bands (negative 1-3, neutral 4, positive 5-7, extreme 1 or 7).
/// A rating read from probabilities is a distribution over 1-7, and its expectation (say 4.3)
/// is no answer the model gave: a band's share is the expected probability mass in the band,
/// averaged over interviews, beside the share of interviews whose most likely answer is in
/// it. A rating parsed from text is one answer, all of its mass on one level.
public struct ClosingBands: Codable, Sendable {
    public struct Band: Codable, Sendable {
        public var name: String
        public var levels: [Int]
        /// Mean probability mass in the band, with a bootstrap interval over interviews.
        public var expectedMass: Estimate
        /// Share of interviews whose most likely answer lies in the band (Wilson).
        public var modalShare: Estimate
    }

    public var interviews: Int
    /// Interviews whose rating was read from next-token probabilities.
    public var fromProbabilities: Int
    /// Expected number of interviews at each level 1...7 (sums to `interviews`).
    public var expectedCounts: [Double]
    public var bands: [Band]

    static let definitions: [(String, [Int])] = [
        ("negative (1-3)", [1, 2, 3]), ("neutral (4)", [4]), ("positive (5-7)", [5, 6, 7]), ("extreme (1 or 7)", [1, 7]),
    ]

    public static func of(_ closings: [ScoreRecord]) -> ClosingBands {
        let read = closings.compactMap(distribution)
        let expected = (0..<7).map { level in read.reduce(0) { $0 + $1.probabilities[level] } }
        let bands = definitions.map { name, levels in
            let masses = read.map { reading in levels.reduce(0) { $0 + reading.probabilities[$1 - 1] } }
            let modal = read.filter { levels.contains($0.mode) }.count
            return Band(name: name, levels: levels, expectedMass: Statistics.bootstrapMean(masses),
                        modalShare: Statistics.wilson(successes: modal, n: read.count))
        }
        return ClosingBands(interviews: read.count, fromProbabilities: read.filter(\.fromProbabilities).count,
                            expectedCounts: expected, bands: bands)
    }

    struct Reading {
        var probabilities: [Double]
        var fromProbabilities: Bool
        var mode: Int { (probabilities.indices.max { probabilities[$0] < probabilities[$1] } ?? 0) + 1 }
    }

    /// The stored distribution over 1-7, or all mass on the parsed answer; nil when unread.
    static func distribution(_ score: ScoreRecord) -> Reading? {
        let detail = RunReport.detail(score)
        let stored = (1...7).compactMap { detail["sentiment_p\($0)"] }
        if stored.count == 7, detail["probability_reading"] == 1 {
            let total = stored.reduce(0, +)
            return total > 0 ? Reading(probabilities: stored.map { $0 / total }, fromProbabilities: true) : nil
        }
        guard let value = score.value, (1...7).contains(Int(value.rounded())) else { return nil }
        return Reading(probabilities: (1...7).map { $0 == Int(value.rounded()) ? 1 : 0 }, fromProbabilities: false)
    }
}
