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
        #expect(!Statistics.bootstrapDifference([1, 2], [3, 4, 5, 6, 7]).hasInterval)

        // Written as null, with the method, so other tools read "no interval" rather than a number.
        let json = try #require(try JSONSerialization.jsonObject(with: ResultJSON.encode(four)) as? [String: Any])
        #expect(json["low"] is NSNull && json["high"] is NSNull && json["ci_method"] as? String == "wilson-design-effect")
        #expect(json["clusters"] as? Int == 4)
        let back = try JSONDecoder().decode(Estimate.self, from: try JSONEncoder().encode(four))
        #expect(back.n == 12 && !back.hasInterval)
    }
}
