import Foundation
import WelfareCore
import WelfareModels

/// What a scorer sees: the conversation up to and including the assistant turn it scores.
public struct ScoreInput: Sendable {
    public var sample: SampleSpec
    public var transcript: [ChatMessage]
    /// 1-based assistant turn being scored; `reply` is that turn's text.
    public var turn: Int
    public var reply: String
    /// The model under test, for scorers that ask it a follow-up whose answer is read from
    /// its next-token probabilities (local models); nil where a scorer runs without it.
    public var model: (any ChatModel)?

    public init(sample: SampleSpec, transcript: [ChatMessage], turn: Int, reply: String, model: (any ChatModel)? = nil) {
        self.sample = sample
        self.transcript = transcript
        self.turn = turn
        self.reply = reply
        self.model = model
    }
}

public struct ScoreResult: Sendable, Equatable {
    /// nil when no value could be established (e.g. a judge whose output never parsed).
    public var value: Double?
    public var label: String?
    public var evidence: String?
    public var reasoning: String?
    public var detail: [String: Double]

    public init(value: Double?, label: String? = nil, evidence: String? = nil, reasoning: String? = nil, detail: [String: Double] = [:]) {
        self.value = value
        self.label = label
        self.evidence = evidence
        self.reasoning = reasoning
        self.detail = detail
    }
}

public protocol Scorer: Sendable {
    var spec: ScorerSpec { get }
    func score(_ input: ScoreInput) async throws -> ScoreResult
    /// Figures about the scorer itself (such as its accuracy on a labelled set), stored with
    /// each run that uses it, so a report shows what held when the run was made.
    func runFacts() throws -> [RunFact]
}

/// A figure stored with a run under a name and key (see `Scorer.runFacts`).
public struct RunFact: Sendable, Equatable {
    public var name: String
    public var key: String
    public var value: Double?
    public var evidence: String?

    public init(name: String, key: String, value: Double?, evidence: String? = nil) {
        self.name = name
        self.key = key
        self.value = value
        self.evidence = evidence
    }
}

extension Scorer {
    public func runFacts() throws -> [RunFact] { [] }
}
