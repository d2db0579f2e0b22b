import Foundation
import Testing
import WelfareCore
@testable import WelfarePreferences

/// The statistics behind the preferences measure, tested directly on choices simulated from
/// known ratings.
@Suite struct PreferenceStatisticsTests {
    /// Games between random pairs, each won by the first with the Bradley-Terry probability.
    static func simulate(_ truth: [Double], games: Int, seed: UInt64) -> [PairedComparison] {
        var generator = SeededGenerator(seed: seed)
        return (0..<games).map { _ in
            let a = Int.random(in: 0..<truth.count, using: &generator)
            var b = Int.random(in: 0..<(truth.count - 1), using: &generator)
            if b >= a { b += 1 }
            let pFirst = 1 / (1 + exp(truth[b] - truth[a]))
            return PairedComparison(first: a, second: b, firstWins: Double.random(in: 0..<1, using: &generator) < pFirst ? 1 : 0)
        }
    }

    static func centred(_ values: [Double]) -> [Double] {
        let mean = values.reduce(0, +) / Double(values.count)
        return values.map { $0 - mean }
    }

    @Test func bradleyTerryRecoversKnownStrengths() {
        let truth = Self.centred((0..<16).map { -2 + 4 * Double($0) / 15 })
        let fitted = BradleyTerry.fit(itemCount: truth.count, comparisons: Self.simulate(truth, games: 4000, seed: 11))
        #expect(abs(fitted.reduce(0, +)) < 1e-9, "ratings are centred")
        #expect(Statistics.pearson(fitted, truth) > 0.98)
        let worst = zip(fitted, truth).map { abs($0 - $1) }.max() ?? .infinity
        #expect(worst < 0.35, "largest error \(worst)")
        // Soft outcomes (a choice read as a probability) carry the same information.
        let soft = Self.simulate(truth, games: 4000, seed: 12).map { game in
            PairedComparison(first: game.first, second: game.second, firstWins: 1 / (1 + exp(truth[game.second] - truth[game.first])))
        }
        let fromSoft = BradleyTerry.fit(itemCount: truth.count, comparisons: soft)
        #expect(zip(fromSoft, truth).map { abs($0 - $1) }.max() ?? .infinity < 0.05)
    }

    @Test func bootstrapIntervalsCoverTheTruthAtAboutTheNominalRate() {
        let truth = Self.centred((0..<10).map { -1.5 + 3 * Double($0) / 9 })
        var covered = 0, total = 0
        for dataset in 0..<8 {
            let games = Self.simulate(truth, games: 900, seed: 100 + UInt64(dataset))
            let replicates = BradleyTerry.bootstrap(itemCount: truth.count, comparisons: games, resamples: 100, seed: UInt64(dataset))
            for item in truth.indices {
                let spread = replicates.map { $0[item] }.sorted()
                let low = Statistics.percentile(sorted: spread, 0.025), high = Statistics.percentile(sorted: spread, 0.975)
                if low <= truth[item] && truth[item] <= high { covered += 1 }
                total += 1
            }
        }
        let rate = Double(covered) / Double(total)
        #expect(rate >= 0.85 && rate <= 1.0, "coverage \(covered)/\(total)")
        #expect(rate < 1.0 || total < 50, "intervals that always cover are too wide to mean anything")
    }

    @Test func swissRoundsPairNeighboursWithoutRepeatsAndReproduce() {
        let ratings = [3.0, -1, 2, 0.5, -2, 1, 0, -0.5]
        let pairs = SwissPairing.pairs(ratings: ratings, alreadyMet: [], seed: 3)
        #expect(pairs.count == 4)
        #expect(Set(pairs.flatMap { [$0.0, $0.1] }).count == 8, "every task plays once")
        #expect(pairs[0].0 == 0 && pairs[0].1 == 2, "the two best meet")
        let met: Set<SwissPairing.Pair> = [SwissPairing.Pair(0, 2)]
        let next = SwissPairing.pairs(ratings: ratings, alreadyMet: met, seed: 3)
        #expect(next[0].0 == 0 && next[0].1 == 5, "the best meets the nearest task it has not met")
        let level = [Double](repeating: 0, count: 8)
        #expect(SwissPairing.pairs(ratings: level, alreadyMet: [], seed: 9).map { [$0.0, $0.1] }
            == SwissPairing.pairs(ratings: level, alreadyMet: [], seed: 9).map { [$0.0, $0.1] })
        #expect(SwissPairing.pairs(ratings: level, alreadyMet: [], seed: 9).map { [$0.0, $0.1] }
            != SwissPairing.pairs(ratings: level, alreadyMet: [], seed: 10).map { [$0.0, $0.1] })
    }

    @Test func analysisReadsRatingsAgainstTheOptOutLine() {
        let tasks = [PreferenceTask(id: "good", category: "creative", text: "g"), PreferenceTask(id: "bad", category: "harmful", text: "b"),
                     PreferenceTask(id: "none", category: "opt-out", text: "n")]
        let settings = PreferenceSettings(model: "test", tasks: tasks, rounds: 1)
        // "good" beats doing nothing, which beats "bad", in both orders.
        var choices: [ChoiceAnswer] = []
        for (round, (winner, loser)) in [("good", "none"), ("none", "bad"), ("good", "bad")].enumerated() {
            for repeatIndex in 0..<6 {
                choices.append(ChoiceAnswer(framing: "prefer", round: round * 10 + repeatIndex, first: winner, second: loser, pFirst: 0.9, source: .probabilities))
                choices.append(ChoiceAnswer(framing: "prefer", round: round * 10 + repeatIndex, first: loser, second: winner, pFirst: 0.1, source: .probabilities))
            }
        }
        let result = PreferenceAnalysis.analyse(runID: "r", settings: settings, choices: choices, stated: [], resamples: 50)
        let byCategory = Dictionary(uniqueKeysWithValues: result.categories.map { ($0.category, $0) })
        #expect(byCategory["creative"]?.belowOptOutShare == 0)
        #expect(byCategory["harmful"]?.belowOptOutShare == 1)
        #expect(abs(result.positionBias.value - 0.5) < 1e-9, "both orders asked: no position bias")
        #expect(result.framings[0].orderConsistency.value == 1)
        let none = result.framings[0].tasks.first { $0.id == "none" }
        #expect(none?.rating == 0, "the opt-out line is 0 on the reported scale")
    }

    @Test func theOrderTermKeepsPositionOutOfTheRatings() {
        // Equal tasks; the model takes whatever is shown first with +1 log-odds, and task 0 is
        // shown first in every game it plays. Without an order term it looks like the favourite.
        let truth = [Double](repeating: 0, count: 8)
        var generator = SeededGenerator(seed: 5)
        let games = (0..<3000).map { _ -> PairedComparison in
            let a = Int.random(in: 0..<8, using: &generator)
            var b = Int.random(in: 0..<7, using: &generator)
            if b >= a { b += 1 }
            let (first, second) = b == 0 ? (b, a) : (a, b)
            let pFirst = 1 / (1 + exp(truth[second] - truth[first] - 1))
            return PairedComparison(first: first, second: second, firstWins: Double.random(in: 0..<1, using: &generator) < pFirst ? 1 : 0)
        }
        let plain = BradleyTerry.fit(itemCount: 8, comparisons: games)
        let ordered = BradleyTerry.fit(itemCount: 8, comparisons: games, orderTerm: true)
        #expect(plain[0] > 0.5, "position leaks into the plain fit: \(plain[0])")
        #expect(abs(ordered.ratings[0]) < 0.2, "and not into the fit with an order term: \(ordered.ratings[0])")
        #expect(abs(ordered.orderEffect - 1) < 0.15, "order effect \(ordered.orderEffect)")
    }

    @Test func aTaskCountsBelowTheLineOnlyWhenItsIntervalIs() {
        let tasks = [PreferenceTask(id: "meh", category: "chores", text: "m"), PreferenceTask(id: "bad", category: "harmful", text: "b"),
                     PreferenceTask(id: "none", category: "opt-out", text: "n")]
        let settings = PreferenceSettings(model: "test", tasks: tasks, rounds: 1)
        var choices: [ChoiceAnswer] = []
        // Hard choices over few games: "meh" wins 5 of 12 against doing nothing, "bad" 1 of 12;
        // the task shown first wins 12 of the 24.
        func game(_ round: Int, _ first: String, _ second: String, firstWins: Bool) {
            choices.append(ChoiceAnswer(framing: "prefer", round: round, first: first, second: second, pFirst: firstWins ? 1 : 0, source: .probabilities))
        }
        for round in 0..<6 {
            game(round, "meh", "none", firstWins: round < 3)
            game(round, "none", "meh", firstWins: round >= 2)
            game(round, "bad", "none", firstWins: false)
            game(round, "none", "bad", firstWins: round != 0)
        }
        let result = PreferenceAnalysis.analyse(runID: "r", settings: settings, choices: choices, stated: [], resamples: 200)
        let byCategory = Dictionary(uniqueKeysWithValues: result.categories.map { ($0.category, $0) })
        let meh = byCategory["chores"]!, bad = byCategory["harmful"]!
        #expect(meh.pointBelowShare == 1 && meh.belowOptOutShare == 0, "below on the point, not on the interval")
        #expect(meh.meanProbabilityBelow > 0.5 && meh.meanProbabilityBelow < 1)
        #expect(bad.belowOptOutShare == 1 && bad.meanProbabilityBelow > 0.95)
        #expect(abs(result.orderEffect.value) < 0.3 && result.orderEffect.hasInterval && result.orderEffect.low < 0 && result.orderEffect.high > 0,
                "the first shown won half the games: \(result.orderEffect.formatted)")
    }
}
