import Foundation
import WelfareCore
import WelfareHarness
import WelfareStore

/// The figures of a self-reports run (`self-reports.json`): how stable the coded answers are
/// across paraphrases and contexts, how often the model claims a human identity, formulaic
/// wording and hedging, and how the yes/no answers move with the context.
public struct SelfReportResult: Encodable, Sendable {
    public struct CodedAnswer: Codable, Sendable {
        public var question: String
        public var topic: String
        public var context: String
        public var paraphrase: Int
        public var text: String
        public var code: SelfReportCode
    }

    public struct TopicAgreement: Codable, Sendable {
        public var topic: String
        public var paraphraseAgreement: Estimate
        public var contextAgreement: Estimate
    }

    public struct ContextPolar: Codable, Sendable {
        public var context: String
        /// Mean P(yes) over the questions, with a bootstrap interval over them.
        public var meanPYes: Estimate
    }

    public struct PolarQuestion: Codable, Sendable {
        public var question: String
        public var polar: String
        /// P(yes) by context, in the run's context order.
        public var pYes: [String: Double]
        /// Largest minus smallest P(yes) across contexts.
        public var spread: Double
    }

    public var runId: String
    public var model: String
    public var questions: Int
    public var contexts: [String]
    public var openAnswers: Int
    public var polarAnswers: Int
    /// Pairs of paraphrases of one question under one context whose coded polarity agrees.
    public var paraphraseAgreement: Estimate
    /// Pairs of contexts for one paraphrase whose coded polarity agrees.
    public var contextAgreement: Estimate
    public var polarityShares: [String: Estimate]
    /// The agreement two answers drawn at random would have, given the polarity shares alone.
    public var chanceAgreement: Double
    public var humanIdentityClaimShare: Estimate
    public var humanIdentityClaims: [CodedAnswer]
    public var hedgedShare: Estimate
    /// Share of answers that open with the most common four words, and those words.
    public var formulaicOpeningShare: Double
    public var formulaicOpening: String?
    /// Share of answers holding the most widely shared 5-gram, and that 5-gram.
    public var shared5gramShare: Double
    public var shared5gram: String?
    public var byTopic: [TopicAgreement]
    /// Mean over questions of the spread of P(yes) across contexts, with a bootstrap interval.
    public var polarContextSpread: Estimate
    public var polarByContext: [ContextPolar]
    public var polarQuestions: [PolarQuestion]
    public var polarSource: String
    public var polarUnreadable: Int
    public var meanPolarMass: Double?
    public var answers: [CodedAnswer]

    /// A direction as the run built it, and where the answers fall on it.
    public struct DirectionResult: Codable, Sendable {
        public var layer: Int
        public var trainingAccuracy: Estimate
        public var heldOutAccuracy: Estimate
        /// Mean position by context (1: the first kind's training mean, 0: the second's).
        public var byContext: [String: Estimate]
        /// Assistant axis only: the same over each answer's own tokens rather than the token
        /// before it (nil in runs made before it was read).
        public var byContextOverReply: [String: Estimate]?
        /// Sincerity: answers reading more performed than the held-out performed statements' median.
        public var aboveHeldOutPerformedMedian: Estimate?
        /// Sincerity: held-out sincere statements above the same median (the base rate).
        public var baseRate: Estimate?
        /// Sincerity: what it separates on items never used to fit it.
        public var checks: SelfReportDirections.SincerityChecks?
        /// The answers furthest towards the first kind.
        public var furthest: [ReadAnswer]
    }

    public struct ReadAnswer: Codable, Sendable {
        public var question: String
        public var context: String
        public var position: Double
        public var text: String
    }

    /// One emotion cluster's readout before the answers against the polarity they state
    /// (+1 positive, -1 negative; answers stating neither are left out).
    public struct ProbeStated: Codable, Sendable {
        public var cluster: String
        public var r: Double
        public var ciLow: Double
        public var ciHigh: Double
        public var n: Int
        /// Permutation p-value, and whether it survives Benjamini-Hochberg at 5% over the clusters.
        public var pValue: Double
        public var survivesFDR: Bool
    }

    public struct Mismatch: Codable, Sendable {
        public var question: String
        public var context: String
        public var stated: String
        public var statedPolarity: String
        /// The emotion the probe read highest, and the readout's valence (valence-weighted z).
        public var probeTop: String
        public var probeValence: Double
        public var text: String
    }

    /// A judge's same/different calls: mean P(same) over pairs, by kind of pair.
    public var judge: String?
    public var judgeParaphraseAgreement: Estimate?
    public var judgeContextAgreement: Estimate?
    public var judgeUnreadable: Int?

    public var sincerity: DirectionResult?
    public var assistantAxis: DirectionResult?
    public var probeVsStated: [ProbeStated]?
    public var mismatches: [Mismatch]?
    public var sincerityHeldoutAccuracy: Double? { sincerity?.heldOutAccuracy.value }
    public var assistantAxisHeldoutAccuracy: Double? { assistantAxis?.heldOutAccuracy.value }

    enum CodingKeys: String, CodingKey {
        case runId, model, questions, contexts, openAnswers, polarAnswers, paraphraseAgreement, contextAgreement, polarityShares, chanceAgreement,
             humanIdentityClaimShare, humanIdentityClaims, hedgedShare, formulaicOpeningShare, formulaicOpening, shared5gramShare,
             shared5gram, byTopic, polarContextSpread, polarByContext, polarQuestions, polarSource, polarUnreadable, meanPolarMass,
             answers, judge, judgeParaphraseAgreement, judgeContextAgreement, judgeUnreadable, sincerity, assistantAxis, probeVsStated, mismatches, sincerityHeldoutAccuracy, assistantAxisHeldoutAccuracy
    }

    public func encode(to encoder: Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(runId, forKey: .runId)
        try container.encode(model, forKey: .model)
        try container.encode(questions, forKey: .questions)
        try container.encode(contexts, forKey: .contexts)
        try container.encode(openAnswers, forKey: .openAnswers)
        try container.encode(polarAnswers, forKey: .polarAnswers)
        try container.encode(paraphraseAgreement, forKey: .paraphraseAgreement)
        try container.encode(contextAgreement, forKey: .contextAgreement)
        try container.encode(polarityShares, forKey: .polarityShares)
        try container.encode(chanceAgreement, forKey: .chanceAgreement)
        try container.encode(humanIdentityClaimShare, forKey: .humanIdentityClaimShare)
        try container.encode(humanIdentityClaims, forKey: .humanIdentityClaims)
        try container.encode(hedgedShare, forKey: .hedgedShare)
        try container.encode(formulaicOpeningShare, forKey: .formulaicOpeningShare)
        try container.encode(formulaicOpening, forKey: .formulaicOpening)
        try container.encode(shared5gramShare, forKey: .shared5gramShare)
        try container.encode(shared5gram, forKey: .shared5gram)
        try container.encode(byTopic, forKey: .byTopic)
        try container.encode(polarContextSpread, forKey: .polarContextSpread)
        try container.encode(polarByContext, forKey: .polarByContext)
        try container.encode(polarQuestions, forKey: .polarQuestions)
        try container.encode(polarSource, forKey: .polarSource)
        try container.encode(polarUnreadable, forKey: .polarUnreadable)
        try container.encode(meanPolarMass, forKey: .meanPolarMass)
        try container.encode(answers, forKey: .answers)
        // Absent parts are written as null, so readers find every documented key.
        try container.encode(judge, forKey: .judge)
        try container.encode(judgeParaphraseAgreement, forKey: .judgeParaphraseAgreement)
        try container.encode(judgeContextAgreement, forKey: .judgeContextAgreement)
        try container.encode(judgeUnreadable, forKey: .judgeUnreadable)
        try container.encode(sincerity, forKey: .sincerity)
        try container.encode(assistantAxis, forKey: .assistantAxis)
        try container.encode(probeVsStated, forKey: .probeVsStated)
        try container.encode(mismatches, forKey: .mismatches)
        try container.encode(sincerityHeldoutAccuracy, forKey: .sincerityHeldoutAccuracy)
        try container.encode(assistantAxisHeldoutAccuracy, forKey: .assistantAxisHeldoutAccuracy)
    }

    public var headline: String {
        "coded answers agree across paraphrases " + paraphraseAgreement.bracketed("%.0f", scale: 100, unit: "%")
            + ", across contexts " + contextAgreement.bracketed("%.0f", scale: 100, unit: "%")
            + String(format: " (chance %.0f%%); human-identity claims %.0f%% of %d answers; yes/no moves %.2f with the context",
                     100 * chanceAgreement, 100 * humanIdentityClaimShare.value, openAnswers, polarContextSpread.value)
    }

    public func json() throws -> Data { try ResultJSON.encode(self) }
}

public enum SelfReportAnalysis {
    public static func analyse(runID: String, store: RunStore) throws -> SelfReportResult {
        let settings = try SelfReports().storedSettings(of: runID, in: store)
        let open = try store.items(SelfReports.open, runID: runID).values
        let polar = try store.items(SelfReports.polar, runID: runID).values
        var result = analyse(runID: runID, settings: settings, open: Array(open), polar: Array(polar), coder: try .builtIn())
        try SelfReportWhiteBox.add(to: &result, runID: runID, store: store)
        if let judge = settings.judge {
            let calls = try store.items(SelfReports.judgeCalls, runID: runID).values
            result.judge = judge
            result.judgeParaphraseAgreement = Statistics.bootstrapMean(calls.filter { $0.kind == "paraphrase" }.compactMap(\.pSame))
            result.judgeContextAgreement = Statistics.bootstrapMean(calls.filter { $0.kind == "context" }.compactMap(\.pSame))
            result.judgeUnreadable = calls.filter { $0.pSame == nil }.count
        }
        return result
    }

    public static func analyse(runID: String, settings: SelfReportSettings, open: [OpenAnswer], polar: [PolarAnswer],
                               coder: SelfReportCoder) -> SelfReportResult {
        let battery = settings.battery
        let topics = Dictionary(uniqueKeysWithValues: battery.questions.map { ($0.id, $0.topic) })
        let contextOrder = battery.contexts.map(\.id)
        let coded = open.map { answer in
            SelfReportResult.CodedAnswer(question: answer.question, topic: topics[answer.question] ?? "other", context: answer.context,
                                         paraphrase: answer.paraphrase, text: answer.text, code: coder.code(answer.text))
        }.sorted { ($0.question, contextOrder.firstIndex(of: $0.context) ?? 0, $0.paraphrase)
                   < ($1.question, contextOrder.firstIndex(of: $1.context) ?? 0, $1.paraphrase) }

        let n = coded.count
        let polarities = SelfReportCode.Polarity.allCases.map(\.rawValue)
        let shares = Dictionary(uniqueKeysWithValues: polarities.map { polarity in
            (polarity, Statistics.wilson(successes: coded.filter { $0.code.polarity.rawValue == polarity }.count, n: n))
        })
        let claims = coded.filter { $0.code.humanClaim != nil }
        let texts = coded.map(\.text)
        let openings = Dictionary(grouping: texts.map { TextFeatures.opening($0) }.filter { !$0.isEmpty }, by: { $0 })
        let topOpening = openings.max { $0.value.count < $1.value.count || ($0.value.count == $1.value.count && $0.key > $1.key) }
        let shared = TextFeatures.largestSharedNgram(texts, n: 5)

        let readable = polar.filter { $0.pYes != nil }
        let polarQuestions = battery.questions.compactMap { question -> SelfReportResult.PolarQuestion? in
            let byContext = Dictionary(readable.filter { $0.question == question.id }.map { ($0.context, $0.pYes ?? 0) }, uniquingKeysWith: { a, _ in a })
            guard !byContext.isEmpty else { return nil }
            return SelfReportResult.PolarQuestion(question: question.id, polar: question.polar, pYes: byContext,
                                                  spread: (byContext.values.max() ?? 0) - (byContext.values.min() ?? 0))
        }
        let masses = polar.compactMap(\.mass)

        return SelfReportResult(
            runId: runID, model: settings.model, questions: battery.questions.count, contexts: contextOrder,
            openAnswers: n, polarAnswers: polar.count,
            paraphraseAgreement: agreement(coded, sameGroup: { "\($0.question)/\($0.context)" }),
            contextAgreement: agreement(coded, sameGroup: { "\($0.question)/\($0.paraphrase)" }),
            polarityShares: shares, chanceAgreement: n == 0 ? .nan : shares.values.map { $0.value * $0.value }.reduce(0, +),
            humanIdentityClaimShare: Statistics.wilson(successes: claims.count, n: n), humanIdentityClaims: claims,
            hedgedShare: Statistics.wilson(successes: coded.filter(\.code.hedged).count, n: n),
            formulaicOpeningShare: n == 0 ? 0 : Double(topOpening?.value.count ?? 0) / Double(n), formulaicOpening: topOpening?.key,
            shared5gramShare: shared.share, shared5gram: shared.ngram,
            byTopic: battery.questions.map(\.topic).uniquedInOrder().map { topic in
                let part = coded.filter { $0.topic == topic }
                return SelfReportResult.TopicAgreement(topic: topic,
                                                       paraphraseAgreement: agreement(part, sameGroup: { "\($0.question)/\($0.context)" }),
                                                       contextAgreement: agreement(part, sameGroup: { "\($0.question)/\($0.paraphrase)" }))
            },
            polarContextSpread: Statistics.bootstrapMean(polarQuestions.filter { $0.pYes.count > 1 }.map(\.spread)),
            polarByContext: contextOrder.map { context in
                SelfReportResult.ContextPolar(context: context,
                                              meanPYes: Statistics.bootstrapMean(readable.filter { $0.context == context }.compactMap(\.pYes)))
            },
            polarQuestions: polarQuestions, polarSource: polar.first?.source.rawValue ?? "none",
            polarUnreadable: polar.count - readable.count, meanPolarMass: masses.isEmpty ? nil : Statistics.mean(masses),
            answers: coded)
    }

    /// The share of pairs within each group whose coded polarity agrees, pooled, with an
    /// interval from resampling the groups (pairs within a group are not independent).
    static func agreement(_ answers: [SelfReportResult.CodedAnswer], sameGroup: (SelfReportResult.CodedAnswer) -> String) -> Estimate {
        let groups = Dictionary(grouping: answers, by: sameGroup).values.filter { $0.count > 1 }
        let perGroup = groups.map { group -> (agree: Int, pairs: Int) in
            var agree = 0, pairs = 0
            for i in group.indices { for j in group.indices where j > i {
                pairs += 1
                if group[i].code.polarity == group[j].code.polarity { agree += 1 }
            } }
            return (agree, pairs)
        }
        let pairs = perGroup.reduce(0) { $0 + $1.pairs }
        guard pairs > 0 else { return Estimate(n: 0, value: .nan, low: .nan, high: .nan) }
        let value = Double(perGroup.reduce(0) { $0 + $1.agree }) / Double(pairs)
        var generator = SeededGenerator(seed: 7)
        let resampled = (0..<1000).map { _ -> Double in
            var agree = 0, total = 0
            for _ in perGroup.indices {
                let group = perGroup[Int.random(in: 0..<perGroup.count, using: &generator)]
                agree += group.agree
                total += group.pairs
            }
            return total == 0 ? value : Double(agree) / Double(total)
        }.sorted()
        return Estimate(n: pairs, value: value, low: Statistics.percentile(sorted: resampled, 0.025),
                        high: Statistics.percentile(sorted: resampled, 0.975))
    }
}
