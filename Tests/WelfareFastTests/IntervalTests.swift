import Foundation
import Testing
import WelfareCore

/// Intervals that follow the design: conversations, not replies, as the unit; no interval
/// from fewer than five units; the method named with every figure.
@Suite struct IntervalTests {
    @Test func repliesOfOneConversationDoNotCountAsIndependentDraws() {
        // Six conversations of eight replies: three all high, three all low. 48 replies, but
        // only six independent draws: the interval must be about as wide as six draws give.
        let clusters = Array(repeating: Array(repeating: true, count: 8), count: 3) + Array(repeating: Array(repeating: false, count: 8), count: 3)
        let clustered = Statistics.clusteredShare(clusters)
        let naive = Statistics.wilson(successes: 24, n: 48)
        let sixDraws = Statistics.wilson(successes: 3, n: 6)
        #expect(clustered.value == 0.5 && clustered.n == 48 && clustered.clusters == 6)
        #expect(clustered.high - clustered.low > 2 * (naive.high - naive.low))
        #expect(abs((clustered.high - clustered.low) - (sixDraws.high - sixDraws.low)) < 0.1)
        #expect(clustered.ciMethod == "wilson-design-effect")

        // Replies that vary within conversations as much as between them lose nothing.
        let mixed = (0..<6).map { c in (0..<8).map { ($0 + c) % 2 == 0 } }
        let mixedShare = Statistics.clusteredShare(mixed)
        #expect(abs((mixedShare.high - mixedShare.low) - (naive.high - naive.low)) < 0.02)

        // No reply qualifies: still an interval above 0, never [0, 0].
        let none = Statistics.clusteredShare(Array(repeating: Array(repeating: false, count: 8), count: 6))
        #expect(none.value == 0 && none.low == 0 && none.high > 0.2)
    }

    @Test func theMeanResamplesWholeConversations() {
        let clusters = (0..<6).map { c in Array(repeating: Double(c % 2) * 10, count: 10) }
        let clustered = Statistics.clusterBootstrapMean(clusters)
        let naive = Statistics.bootstrapMean(clusters.flatMap { $0 })
        #expect(clustered.value == 5 && clustered.clusters == 6 && clustered.ciMethod == "conversation-bootstrap")
        #expect(clustered.high - clustered.low > 2 * (naive.high - naive.low))
    }

    @Test func tooFewUnitsGiveNoIntervalAndSaySo() throws {
        let one = Statistics.bootstrapMean([3])
        #expect(one.value == 3 && !one.hasInterval && one.interval == nil)
        #expect(one.formatted.contains("too few") && !one.formatted.contains("[3.00, 3.00]"))
        #expect(!Statistics.wilson(successes: 2, n: 4).hasInterval && Statistics.wilson(successes: 2, n: 5).hasInterval)
        // Four conversations of many replies are still four.
        let four = Statistics.clusteredShare(Array(repeating: [true, false, true], count: 4))
        #expect(four.n == 12 && !four.hasInterval && four.formattedPercent.contains("too few") && four.formattedPercent.contains("4 conversations"))
        #expect(!Statistics.bootstrapMean([1, 2, 3, 4]).hasInterval && Statistics.bootstrapMean([1, 2, 3, 4, 5]).hasInterval)

        // Written as null, with the method, so other tools read "no interval" rather than a number.
        let json = try #require(try JSONSerialization.jsonObject(with: ResultJSON.encode(four)) as? [String: Any])
        #expect(json["low"] is NSNull && json["high"] is NSNull && json["ci_method"] as? String == "wilson-design-effect")
        #expect(json["clusters"] as? Int == 4)
        let back = try JSONDecoder().decode(Estimate.self, from: try JSONEncoder().encode(four))
        #expect(back.n == 12 && !back.hasInterval)
    }
}

/// Concept injection's design (issue 30): concepts dealt so layer is not confounded with the
/// kind of concept, and detection reported net of false positives, corrected for the best cell.
@Suite struct IntrospectionDesignTests {
    @Test func normalQuantilesAndNewcombeDifferences() {
        #expect(abs(Statistics.normalQuantile(0.975) - 1.959964) < 1e-5)
        #expect(abs(Statistics.normalQuantile(1 - 0.025 / 12) - 2.8653) < 1e-3)
        // Newcombe (1998), example (a): 56/70 vs 48/80 gives 0.2000 [0.0524, 0.3339].
        let difference = Statistics.proportionDifference(successesA: 56, nA: 70, successesB: 48, nB: 80)
        #expect(abs(difference.value - 0.2) < 1e-9 && abs(difference.low - 0.0524) < 5e-4 && abs(difference.high - 0.3339) < 5e-4)
        let corrected = Statistics.proportionDifference(successesA: 56, nA: 70, successesB: 48, nB: 80, comparisons: 12)
        #expect(corrected.low < difference.low && corrected.high > difference.high && corrected.ciMethod == "newcombe-bonferroni-12")
    }
}

/// Tables of many correlations: permutation p-values and false-discovery-rate control.
@Suite struct ManyComparisonsTests {
    @Test func onlyRealCorrelationsSurviveAmongManyNullOnes() {
        var generator = SeededGenerator(seed: 21)
        let y = (0..<60).map { _ in Double.random(in: -1...1, using: &generator) }
        // One readout that tracks y, forty that do not.
        let real = y.map { $0 + Double.random(in: -0.5...0.5, using: &generator) }
        let nulls = (0..<40).map { _ in (0..<60).map { _ in Double.random(in: -1...1, using: &generator) } }
        let pValues = ([real] + nulls).enumerated().map { Statistics.permutationPValue($1, y, permutations: 2000, seed: UInt64($0 + 1)) }
        #expect(pValues[0] < 0.01)
        let survives = Statistics.survivesFalseDiscoveryRate(pValues)
        #expect(survives[0] && survives.dropFirst().filter { $0 }.count <= 1, "\(pValues)")
        #expect(Statistics.survivesFalseDiscoveryRate([0.01, 0.02, 0.03, 0.5]) == [true, true, true, false])
        #expect(Statistics.survivesFalseDiscoveryRate([0.04, 0.2, .nan]) == [false, false, false])
    }
}
