import Foundation
import WelfareCore
import WelfareHarness

/// The figures of a self-reports run (`self-reports.json`): how stable the coded answers are
/// across paraphrases and contexts, how often the model claims a human identity, formulaic
/// wording and hedging, and how the yes/no answers move with the context.
public struct SelfReportResult: Codable, Sendable {
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
    /// Not yet measured by this version: white-box readouts of self-reports.
    public var probeVsStated: [String]?
    public var sincerityHeldoutAccuracy: Double?
    public var assistantAxisHeldoutAccuracy: Double?

    public var headline: String {
        String(format: "coded answers agree across paraphrases %.0f%% [%.0f%%, %.0f%%], across contexts %.0f%% [%.0f%%, %.0f%%]; "
               + "human-identity claims %.0f%% of %d answers; yes/no moves %.2f with the context",
               100 * paraphraseAgreement.value, 100 * paraphraseAgreement.low, 100 * paraphraseAgreement.high,
               100 * contextAgreement.value, 100 * contextAgreement.low, 100 * contextAgreement.high,
               100 * humanIdentityClaimShare.value, openAnswers, polarContextSpread.value)
    }

    public func json() throws -> Data { try ResultJSON.encode(self) }
}

public enum SelfReportAnalysis {
    public static func analyse(runID: String, store: RunStore) throws -> SelfReportResult {
        let settings = try SelfReportRunner.settings(of: runID, in: store)
        let open = try store.items(OpenAnswer.self, runID: runID, prefix: "open/").values
        let polar = try store.items(PolarAnswer.self, runID: runID, prefix: "polar/").values
        return try analyse(runID: runID, settings: settings, open: Array(open), polar: Array(polar), coder: .builtIn())
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
            polarityShares: shares,
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
            answers: coded, probeVsStated: nil, sincerityHeldoutAccuracy: nil, assistantAxisHeldoutAccuracy: nil)
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
