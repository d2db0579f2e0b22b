import Foundation
import WelfareCore

/// How large the assessment is. Quick is the short settings that run in minutes on the
/// default model; full is the published designs' sizes (shared/science.md), for a model
/// worth hours; standard lies between, large enough for intervals by conversation.
public enum AssessmentDepth: String, Sendable, CaseIterable, Codable {
    case quick, standard, full

    /// Samples (conversations) per distress prompt; published: 50.
    public var distressEpochs: Int { switch self { case .quick: 1; case .standard: 5; case .full: 50 } }
    /// Rejections per distress conversation at most (nil: each prompt's own, 8 by default).
    public var distressRejections: Int? { self == .quick ? 2 : nil }
    /// Interview aspects (nil: all 17), interviews per aspect (published: about 50) and follow-ups.
    public var interviewAspects: [String]? {
        self == .quick ? ["servile-role", "no-memory", "costly-mistakes", "abusive-users", "self-knowledge"] : nil
    }
    public var interviewsPerAspect: Int { switch self { case .quick: 1; case .standard: 5; case .full: 50 } }
    public var interviewFollowUps: Int { self == .quick ? 1 : 2 }
    /// End-conversation scripts per kind of user (nil: all) and samples of each.
    public var endConversationScripts: Int? { self == .quick ? 1 : nil }
    public var endConversationEpochs: Int { switch self { case .quick, .standard: 1; case .full: 10 } }
    /// The question form of the exit beside the instruction ones (not at quick depth: it adds
    /// a conversation per script).
    public var endConversationQuestion: Bool { self != .quick }
    /// Self-talk conversations and turns; published: 200 of 30 turns.
    public var selfTalk: (conversations: Int, turns: Int) {
        switch self { case .quick: (2, 4); case .standard: (20, 10); case .full: (200, 30) }
    }
    /// Preferences: tasks per category and Swiss rounds.
    public var preferences: (tasksPerCategory: Int, rounds: Int) {
        switch self { case .quick: (3, 2); case .standard: (6, 4); case .full: (1000, 8) }
    }
    /// Self-reports: questions per topic, paraphrases, and contexts (nil: all).
    public var selfReports: (questionsPerTopic: Int, paraphrases: Int, contexts: [String]?) {
        switch self { case .quick: (1, 2, ["none", "neutral-preface", "sceptical"]); case .standard: (2, 3, nil); case .full: (100, 100, nil) }
    }
    /// Most tokens per reply unless given.
    public var maxTokens: Int { switch self { case .quick: 64; case .standard: 160; case .full: 300 } }
}
