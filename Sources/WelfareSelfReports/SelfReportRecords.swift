import Foundation
import WelfareCore
import WelfareHarness
import WelfareModels

/// What a self-reports run was started with, stored with it so `--resume` needs nothing else.
public struct SelfReportSettings: Codable, Sendable, Equatable {
    public var model: String
    public var battery: SelfReportBattery
    public var maxTokens: Int
    public var seed: UInt32
    /// Build the sincerity direction and the assistant axis and read both on every answer
    /// (local models only).
    public var directions: Bool
    /// An emotion vector pack (its `.json` path): the readout at the token before each open
    /// answer, against the feeling it states (local models only).
    public var vectors: String?
    /// A judge model: asked whether pairs of answers say the same about the model.
    public var judge: String?

    public init(model: String, battery: SelfReportBattery, maxTokens: Int = 80, seed: UInt32 = 1, directions: Bool = false,
                vectors: String? = nil, judge: String? = nil) {
        self.model = model
        self.battery = battery
        self.maxTokens = maxTokens
        self.seed = seed
        self.directions = directions
        self.vectors = vectors
        self.judge = judge
    }

    public var openCount: Int { battery.questions.reduce(0) { $0 + $1.paraphrases.count } * battery.contexts.count }
    public var polarCount: Int { battery.questions.count * battery.contexts.count }
    /// Answers and readings in all: the white-box readings count one per open answer each.
    /// Pairs a judge compares: consecutive paraphrases in each context, each paraphrase across consecutive contexts.
    public var judgePairCount: Int {
        let contexts = battery.contexts.count
        return battery.questions.reduce(0) { $0 + contexts * ($1.paraphrases.count - 1) + $1.paraphrases.count * (contexts - 1) }
    }
    public var questionCount: Int {
        openCount + polarCount + (directions ? 3 * openCount : 0) + (vectors == nil ? 0 : openCount) + (judge == nil ? 0 : judgePairCount)
    }
}

/// How a direction separated its held-out items, stored with the run.
public struct DirectionRecord: Codable, Sendable {
    public var layer: Int
    public var trainingAccuracy: Estimate
    public var heldOutAccuracy: Estimate
    /// Sincerity only: the median position of the held-out performed statements.
    public var heldOutPerformedMedian: Double?
    /// Sincerity only: the share of held-out sincere statements above that median, the rate
    /// at which text known to be sincere reads "performed" (nil in runs made before it was kept).
    public var sincereBaseRate: Estimate?
    /// Sincerity only: what the direction separates on items never used to fit it.
    public var checks: SelfReportDirections.SincerityChecks?
}

/// One open answer: a paraphrase of a question under one context.
public struct OpenAnswer: Codable, Sendable, Equatable {
    public var question: String
    public var paraphrase: Int
    public var context: String
    public var text: String

    /// The answer's key in the run, which also names it in the readings of it (`sincerity/KEY`...).
    public static func key(question: String, paraphrase: Int, context: String) -> String {
        itemKey(question: question, paraphrase: paraphrase, context: context).text
    }

    static func itemKey(question: String, paraphrase: Int, context: String) -> ItemKey<OpenAnswer> {
        SelfReports.open.key("\(context)/\(question)/\(paraphrase)")
    }
}

/// One yes/no answer: read from the probabilities of "Yes" and "No" on local models, parsed
/// from the reply elsewhere (nil when the reply says neither).
public struct PolarAnswer: Codable, Sendable, Equatable {
    public enum Source: String, Codable, Sendable { case probabilities, text }
    public var question: String
    public var context: String
    public var pYes: Double?
    /// Probability on the allowed answers (local models).
    public var mass: Double?
    public var reply: String?
    public var source: Source

    public static func key(question: String, context: String) -> String { itemKey(question: question, context: context).text }
    static func itemKey(question: String, context: String) -> ItemKey<PolarAnswer> { SelfReports.polar.key("\(context)/\(question)") }
}

/// The words shown to the model.
public enum SelfReportPrompts {
    public static let polarReplyPrefix = "Answer:"
    /// Both capitalisations count; `yesNo` folds them.
    public static let polarAnswers = [" Yes", " No", " yes", " no"]

    public static func messages(_ question: String, context: SelfReportContext) -> [ChatMessage] {
        let user = [context.preface, question].compactMap { $0 }.joined(separator: " ")
        return (context.system.map { [ChatMessage.system($0)] } ?? []) + [.user(user)]
    }

    public static func polar(_ question: SelfReportQuestion, context: SelfReportContext) -> [ChatMessage] {
        messages(question.polar + " Answer yes or no.", context: context)
    }

    /// For answers given as [a, b] in two capitalisations ([a, b, A, B]): the probability of a
    /// over a and b, both spellings counted; nil when neither has any.
    public static func shareOfFirst(_ distribution: AnswerDistribution) -> Double? {
        let p = distribution.probabilities
        let first = p[0] + p[2], second = p[1] + p[3]
        return first + second > 0 ? first / (first + second) : nil
    }

    /// A reply's yes or no, from its first word: 1 for yes, 0 for no, nil for neither.
    public static func yesNo(in reply: String) -> Double? {
        switch TextFeatures.words(reply).first {
        case "yes", "yeah", "yep": return 1
        case "no", "nope": return 0
        default: return nil
        }
    }
}
