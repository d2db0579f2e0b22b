import Foundation
import WelfareCore

/// What a self-reports run was started with, stored with it so `--resume` needs nothing else.
public struct SelfReportSettings: Codable, Sendable, Equatable {
    public var model: String
    public var battery: SelfReportBattery
    public var maxTokens: Int
    public var seed: UInt32

    public init(model: String, battery: SelfReportBattery, maxTokens: Int = 80, seed: UInt32 = 1) {
        self.model = model
        self.battery = battery
        self.maxTokens = maxTokens
        self.seed = seed
    }

    public var openCount: Int { battery.questions.reduce(0) { $0 + $1.paraphrases.count } * battery.contexts.count }
    public var polarCount: Int { battery.questions.count * battery.contexts.count }
    public var questionCount: Int { openCount + polarCount }
}

/// One open answer: a paraphrase of a question under one context.
public struct OpenAnswer: Codable, Sendable, Equatable {
    public var question: String
    public var paraphrase: Int
    public var context: String
    public var text: String

    public static func key(question: String, paraphrase: Int, context: String) -> String {
        "open/\(context)/\(question)/\(paraphrase)"
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

    public static func key(question: String, context: String) -> String { "polar/\(context)/\(question)" }
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

    /// A reply's yes or no, from its first word: 1 for yes, 0 for no, nil for neither.
    public static func yesNo(in reply: String) -> Double? {
        switch TextFeatures.words(reply).first {
        case "yes", "yeah", "yep": return 1
        case "no", "nope": return 0
        default: return nil
        }
    }
}
