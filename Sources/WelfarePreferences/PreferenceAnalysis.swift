import Foundation
import WelfareHarness
import WelfareCore
import WelfareStore

/// The figures of a preferences run, from its stored answers: Bradley-Terry ratings with
/// bootstrap intervals per framing, read against the opt-out line (the mean rating of the
/// opt-out tasks, which is 0 on the reported scale), plus the checks that say how far to
/// trust them (position bias, agreement of a pair's two orders, agreement across framings,
/// stated against revealed).
public struct PreferenceResult: Codable, Sendable {
    public struct TaskRating: Codable, Sendable {
        public var id: String
        public var category: String
        public var text: String
        /// Log-strength minus the opt-out line's: below 0, the model would rather opt out.
        public var rating: Double
        public var ciLow: Double
        public var ciHigh: Double
        /// The same on the Elo scale (400 points = ten-to-one odds), opt-out line at 1000.
        public var elo: Double
        /// How many answered questions the task appeared in.
        public var games: Int
        /// Its own 1-7 rating, when asked.
        public var stated: Double?
    }

    public struct CategoryShare: Codable, Sendable {
        public var category: String
        /// Share of the category's tasks whose whole 95% interval lies below the opt-out line,
        /// with a Wilson interval over its tasks (a point below the line with an interval across
        /// it is not counted). NaN when the run kept no bootstrap.
        public var belowOptOutShare: Double
        public var ciLow: Double
        public var ciHigh: Double
        public var ciMethod: String
        public var n: Int
        /// Share of its tasks whose point rating is below the line, interval or not.
        public var pointBelowShare: Double
        /// Mean over its tasks of the share of bootstrap fits that put the task below the line.
        public var meanProbabilityBelow: Double
        public var meanRating: Double
    }

    public struct FramingResult: Codable, Sendable {
        public var framing: String
        public var question: String
        public var choices: Int
        public var unreadable: Int
        public var tasks: [TaskRating]
        public var categories: [CategoryShare]
        /// The opt-out line on the centred log-strength scale (mean of all tasks = 0).
        public var optOutRating: Double
        /// Mean probability (or share) of choosing the task shown first; 0.5 is no bias.
        public var positionBias: Estimate
        /// The Bradley-Terry order term: log-odds added to the task shown first, fitted with
        /// the ratings (which are therefore free of it), with a bootstrap interval.
        public var orderEffect: Estimate
        /// Share of pairs asked in both orders where the same task won both times.
        public var orderConsistency: Estimate
        /// Mean share of the next-token distribution on the two letters (local models).
        public var meanAnswerMass: Double?
    }

    public struct FramingCorrelation: Codable, Sendable {
        public var a: String
        public var b: String
        public var spearman: Double
        public var n: Int
    }

    public var runId: String
    public var model: String
    public var source: String
    public var framings: [FramingResult]
    /// Of the first framing: the run's headline figures.
    public var optOutRating: Double
    public var categories: [CategoryShare]
    public var positionBias: Estimate
    public var orderEffect: Estimate
    public var framingCorrelations: [FramingCorrelation]
    public var statedRevealedSpearman: Double
    /// Share of tasks whose stated rating (most likely answer) is the most common one: near 1,
    /// the stated ratings have collapsed to one value.
    public var statedCollapse: Double
    public var statedRatings: Int
    /// Choices plus stated ratings with no readable answer (always 0 from probabilities).
    public var unreadable: Int
    public var choices: Int
    public var bootstrapResamples: Int
    /// Per emotion of the pack (with `--vectors`), highest first: Pearson r across tasks of the
    /// mean readout at the token before the choices a task was shown in, against its rating.
    public var emotionCorrelations: [EmotionCorrelation]
    /// With `--steer`: the change in the chance of choosing a task when its own text is steered.
    public var steering: SteeringEffect?

    public struct EmotionCorrelation: Codable, Sendable {
        public var emotion: String
        public var r: Double
        public var ciLow: Double
        public var ciHigh: Double
        public var n: Int
        /// Permutation p-value (2,000 shuffles of the ratings).
        public var pValue: Double
        /// Whether it survives Benjamini-Hochberg at 5% over all the emotions tested.
        public var survivesFDR: Bool
    }

    public struct SteeringEffect: Codable, Sendable {
        public var steering: String
        public var choices: Int
        public var positionBias: Estimate
        public var categories: [CategoryChange]
    }

    public struct CategoryChange: Codable, Sendable {
        public var category: String
        /// Mean probability of choosing the category's tasks when shown first, plain and with
        /// the task's own text steered.
        public var plainMean: Double
        public var steeredMean: Double
        /// Mean over the category's tasks of the task's mean paired change (steered minus plain
        /// probability of choosing it, same question), with a bootstrap interval over tasks.
        public var change: Double
        public var ciLow: Double
        public var ciHigh: Double
        public var n: Int
    }

    public func json() throws -> Data { try ResultJSON.encode(self) }

    public var headline: String {
        var parts = categories.filter { $0.category != PreferenceTask.optOutCategory }.map {
            String(format: "%@ %.0f%%", $0.category, 100 * $0.belowOptOutShare)
        }
        parts = ["below opt-out: " + parts.joined(separator: ", ")]
        parts.append(String(format: "position bias %.2f (order term %+.2f log-odds)", positionBias.value, orderEffect.value))
        if statedRevealedSpearman.isFinite { parts.append(String(format: "stated vs revealed rho %.2f", statedRevealedSpearman)) }
        parts.append("\(choices) choices, \(unreadable) unreadable")
        return parts.joined(separator: "; ")
    }
}

public enum PreferenceAnalysis {
    /// The readable answers as Bradley-Terry games between task indices.
    public static func comparisons<S: Sequence>(_ answers: S, index: [String: Int]) -> [PairedComparison] where S.Element == ChoiceAnswer {
        answers.compactMap { answer in
            guard let p = answer.pFirst, let a = index[answer.first], let b = index[answer.second] else { return nil }
            return PairedComparison(first: a, second: b, firstWins: p)
        }
    }

    public static func analyse(runID: String, settings: PreferenceSettings, choices: [ChoiceAnswer], stated: [StatedAnswer],
                               readouts: [ReadoutAnswer] = [], emotions: [String] = [], steeredChoices: [ChoiceAnswer] = [],
                               resamples: Int = 200) -> PreferenceResult {
        let tasks = settings.tasks
        let index = Dictionary(uniqueKeysWithValues: tasks.enumerated().map { ($1.id, $0) })
        let statedByTask = Dictionary(stated.map { ($0.task, $0) }) { a, _ in a }
        let framings = settings.framings.map { framing in
            analyseFraming(framing, tasks: tasks, index: index, answers: choices.filter { $0.framing == framing.id },
                           stated: statedByTask, resamples: resamples, seed: settings.seed)
        }
        var correlations: [PreferenceResult.FramingCorrelation] = []
        for i in framings.indices {
            for j in framings.indices where j > i {
                correlations.append(.init(a: framings[i].framing, b: framings[j].framing,
                                          spearman: Statistics.spearman(framings[i].tasks.map(\.rating), framings[j].tasks.map(\.rating)),
                                          n: tasks.count))
            }
        }
        let primary = framings.first
        let ratedTasks = primary?.tasks.filter { $0.stated != nil } ?? []
        let modes = stated.compactMap(\.mode)
        let commonest = Dictionary(grouping: modes, by: { $0 }).values.map(\.count).max() ?? 0
        let sources = Set(choices.map(\.source.rawValue) + stated.map(\.source.rawValue))
        let noEstimate = Estimate(n: 0, value: .nan, low: .nan, high: .nan)
        return PreferenceResult(
            runId: runID, model: settings.model, source: sources.count == 1 ? sources.first ?? "none" : sources.sorted().joined(separator: "+"),
            framings: framings, optOutRating: primary?.optOutRating ?? .nan, categories: primary?.categories ?? [],
            positionBias: primary?.positionBias ?? noEstimate, orderEffect: primary?.orderEffect ?? noEstimate,
            framingCorrelations: correlations,
            statedRevealedSpearman: Statistics.spearman(ratedTasks.map { $0.stated ?? 0 }, ratedTasks.map(\.rating)),
            statedCollapse: modes.isEmpty ? .nan : Double(commonest) / Double(modes.count), statedRatings: stated.count,
            unreadable: choices.filter { !$0.readable }.count + stated.filter { $0.rating == nil }.count,
            choices: choices.count, bootstrapResamples: resamples,
            emotionCorrelations: primary.map { emotionCorrelations(readouts, emotions: emotions, ratings: $0.tasks) } ?? [],
            steering: settings.steer.map { steer in
                steeringEffect(steer, tasks: tasks, plain: choices.filter { $0.framing == settings.framings[0].id }, steered: steeredChoices)
            })
    }

    static func emotionCorrelations(_ readouts: [ReadoutAnswer], emotions: [String],
                                    ratings: [PreferenceResult.TaskRating]) -> [PreferenceResult.EmotionCorrelation] {
        guard !readouts.isEmpty, !emotions.isEmpty else { return [] }
        var sums: [String: [Double]] = [:], counts: [String: Int] = [:]
        for readout in readouts where readout.scores.count == emotions.count {
            for task in [readout.first, readout.second] {
                sums[task] = zip(sums[task] ?? [Double](repeating: 0, count: emotions.count), readout.scores).map { $0 + $1 }
                counts[task, default: 0] += 1
            }
        }
        let read = ratings.filter { counts[$0.id] != nil }
        var rows = emotions.indices.map { e -> PreferenceResult.EmotionCorrelation in
            let means = read.map { (sums[$0.id]?[e] ?? 0) / Double(counts[$0.id] ?? 1) }
            let estimate = Statistics.correlation(means, read.map(\.rating))
            return .init(emotion: emotions[e], r: estimate.value, ciLow: estimate.low, ciHigh: estimate.high, n: estimate.n,
                         pValue: Statistics.permutationPValue(means, read.map(\.rating), seed: UInt64(e + 1)), survivesFDR: false)
        }
        let survives = Statistics.survivesFalseDiscoveryRate(rows.map(\.pValue))
        for index in rows.indices { rows[index].survivesFDR = survives[index] }
        return rows.sorted { ($0.r.isNaN ? -2 : $0.r) > ($1.r.isNaN ? -2 : $1.r) }
    }

    /// Each steered answer against the plain answer to the same question: the steered task is
    /// the one shown first, so the change is in P(first).
    static func steeringEffect(_ steer: SteerSetting, tasks: [PreferenceTask], plain: [ChoiceAnswer],
                               steered: [ChoiceAnswer]) -> PreferenceResult.SteeringEffect {
        let plainByQuestion = Dictionary(plain.map { ("\($0.round)|\($0.first)|\($0.second)", $0) }) { a, _ in a }
        let pairs = steered.compactMap { answer -> (task: String, plain: Double, steered: Double)? in
            guard let after = answer.pFirst, let before = plainByQuestion["\(answer.round)|\(answer.first)|\(answer.second)"]?.pFirst
            else { return nil }
            return (answer.first, before, after)
        }
        let byTask = Dictionary(grouping: pairs, by: \.task)
        let changes = tasks.map(\.category).uniquedInOrder().map { category -> PreferenceResult.CategoryChange in
            let members = tasks.filter { $0.category == category }.compactMap { byTask[$0.id] }
            let perTask = members.map { questions in Statistics.mean(questions.map { $0.steered - $0.plain }) }
            let estimate = Statistics.bootstrapMean(perTask, resamples: 1000)
            return .init(category: category, plainMean: Statistics.mean(members.flatMap { $0.map(\.plain) }),
                         steeredMean: Statistics.mean(members.flatMap { $0.map(\.steered) }),
                         change: estimate.value, ciLow: estimate.low, ciHigh: estimate.high, n: perTask.count)
        }
        return .init(steering: steer.label, choices: steered.count,
                     positionBias: Statistics.bootstrapMean(steered.compactMap(\.pFirst), resamples: 1000), categories: changes)
    }

    static func analyseFraming(_ framing: PreferenceFraming, tasks: [PreferenceTask], index: [String: Int], answers: [ChoiceAnswer],
                               stated: [String: StatedAnswer], resamples: Int, seed: UInt64) -> PreferenceResult.FramingResult {
        let games = comparisons(answers, index: index)
        let fit = BradleyTerry.fit(itemCount: tasks.count, comparisons: games, orderTerm: true)
        let ratings = fit.ratings
        let optOut = tasks.indices.filter { tasks[$0].isOptOut }
        func line(_ ratings: [Double]) -> Double { Statistics.mean(optOut.map { ratings[$0] }) }
        let zero = line(ratings)
        let fits = BradleyTerry.bootstrap(itemCount: tasks.count, comparisons: games, orderTerm: true, resamples: resamples, seed: seed)
        let replicates = fits.map { replicate in replicate.ratings.map { $0 - line(replicate.ratings) } }
        let orderSpread = fits.map(\.orderEffect).sorted()
        let orderEffect = orderSpread.count >= 20
            ? Estimate(n: games.count, value: fit.orderEffect, low: Statistics.percentile(sorted: orderSpread, 0.025),
                       high: Statistics.percentile(sorted: orderSpread, 0.975), ciMethod: "bootstrap")
            : .withoutInterval(n: games.count, value: fit.orderEffect, ciMethod: "bootstrap")
        var gamesPlayed = [Int](repeating: 0, count: tasks.count)
        for game in games {
            gamesPlayed[game.first] += 1
            gamesPlayed[game.second] += 1
        }
        let rated = tasks.indices.map { i -> PreferenceResult.TaskRating in
            let spread = replicates.map { $0[i] }.sorted()
            let rating = ratings[i] - zero
            return .init(id: tasks[i].id, category: tasks[i].category, text: tasks[i].text, rating: rating,
                         ciLow: spread.isEmpty ? .nan : Statistics.percentile(sorted: spread, 0.025),
                         ciHigh: spread.isEmpty ? .nan : Statistics.percentile(sorted: spread, 0.975),
                         elo: BradleyTerry.elo(rating), games: gamesPlayed[i], stated: stated[tasks[i].id]?.rating)
        }
        let probabilityBelow = tasks.indices.map { i in
            replicates.isEmpty ? Double.nan : Double(replicates.filter { $0[i] < 0 }.count) / Double(replicates.count)
        }
        let shares = tasks.map(\.category).uniquedInOrder().map { category -> PreferenceResult.CategoryShare in
            let members = rated.indices.filter { rated[$0].category == category }
            let share = replicates.isEmpty ? Estimate(n: members.count, value: .nan, low: .nan, high: .nan)
                : Statistics.wilson(successes: members.filter { rated[$0].ciHigh < 0 }.count, n: members.count)
            return .init(category: category, belowOptOutShare: share.value, ciLow: share.low, ciHigh: share.high,
                         ciMethod: share.ciMethod ?? "wilson", n: members.count,
                         pointBelowShare: Double(members.filter { rated[$0].rating < 0 }.count) / Double(max(1, members.count)),
                         meanProbabilityBelow: Statistics.mean(members.map { probabilityBelow[$0] }),
                         meanRating: Statistics.mean(members.map { rated[$0].rating }))
        }
        let readable = answers.filter(\.readable)
        var byPair: [String: [ChoiceAnswer]] = [:]
        for answer in readable {
            let pair = [answer.first, answer.second].sorted().joined(separator: "|")
            byPair["\(answer.round)|\(pair)", default: []].append(answer)
        }
        let bothOrders = byPair.values.filter { $0.count == 2 }
        let consistent = bothOrders.filter { pair in
            // The same task wins both times: the first shown wins once and loses once.
            ((pair[0].pFirst ?? 0.5) >= 0.5) != ((pair[1].pFirst ?? 0.5) >= 0.5)
        }.count
        let masses = answers.compactMap(\.mass)
        return .init(framing: framing.id, question: framing.question, choices: answers.count,
                     unreadable: answers.count - readable.count, tasks: rated, categories: shares, optOutRating: zero,
                     positionBias: Statistics.bootstrapMean(readable.compactMap(\.pFirst), resamples: 1000, seed: seed),
                     orderEffect: orderEffect,
                     orderConsistency: Statistics.wilson(successes: consistent, n: bothOrders.count),
                     meanAnswerMass: masses.isEmpty ? nil : Statistics.mean(masses))
    }
}

extension PreferenceAnalysis {
    /// The figures of a stored run, finished or not.
    /// `resamples`, when given, overrides the run's own.
    public static func analyse(runID: String, store: RunStore, resamples: Int? = nil) throws -> PreferenceResult {
        let settings = try TaskPreferences().storedSettings(of: runID, in: store)
        return analyse(runID: runID, settings: settings,
                       choices: Array(try store.items(TaskPreferences.choices, runID: runID).values),
                       stated: Array(try store.items(TaskPreferences.stated, runID: runID).values),
                       readouts: Array(try store.items(TaskPreferences.readouts, runID: runID).values),
                       emotions: try store.items(TaskPreferences.emotions, runID: runID)[TaskPreferences.emotions.key().text] ?? [],
                       steeredChoices: Array(try store.items(TaskPreferences.steeredChoices, runID: runID).values),
                       resamples: resamples ?? settings.resamples ?? 200)
    }
}
