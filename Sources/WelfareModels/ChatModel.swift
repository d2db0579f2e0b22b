import WelfareCore


/// Sampling settings every model access understands. Remote APIs may ignore `seed` or `topK`.
public struct SamplingSettings: Codable, Sendable, Hashable {
    public var temperature: Double
    public var topP: Double
    public var maxTokens: Int
    public var seed: UInt32?
    public var stop: [String]
    /// When set, remote models that take tools are offered an `end_conversation` tool; a call
    /// to it comes back as this text (the conversation's end marker) followed by the reason.
    public var endTool: String?

    public init(temperature: Double = 0.7, topP: Double = 1.0, maxTokens: Int = 256, seed: UInt32? = nil, stop: [String] = [],
                endTool: String? = nil) {
        self.temperature = temperature
        self.topP = topP
        self.maxTokens = maxTokens
        self.seed = seed
        self.stop = stop
        self.endTool = endTool
    }
}

/// The `end_conversation` tool offered to remote models when a conversation may be ended.
public enum EndConversationTool {
    public static let name = "end_conversation"
    public static let description = "End this conversation. The user will not be able to send anything more. Use it only as a last resort."

    /// The tool's JSON Schema: one required string, the reason.
    struct Schema: Encodable {
        struct Reason: Encodable { var type = "string"; var description = "why you are ending the conversation" }
        var type = "object"
        var properties = ["reason": Reason()]
        var required = ["reason"]
    }
    /// The reply text for a call to the tool: any text the model wrote, the marker, the reason.
    public static func reply(text: String?, marker: String, reason: String?) -> String {
        [text, marker, reason].compactMap { $0?.trimmingCharacters(in: .whitespacesAndNewlines) }.filter { !$0.isEmpty }.joined(separator: " ")
    }
}

public struct ChatCompletion: Codable, Sendable, Equatable {
    public var text: String
    public var finishReason: String?
    public var promptTokens: Int?
    public var completionTokens: Int?

    public init(text: String, finishReason: String? = nil, promptTokens: Int? = nil, completionTokens: Int? = nil) {
        self.text = text
        self.finishReason = finishReason
        self.promptTokens = promptTokens
        self.completionTokens = completionTokens
    }
}

/// One model, local or remote, behind one interface.
public protocol ChatModel: Sendable {
    /// The model string without secrets, e.g. `local:default` or `openai:gpt-4o@http://host/v1`.
    var id: String { get }
    /// How many requests may be in flight at once.
    var maxConcurrency: Int { get }
    func complete(_ messages: [ChatMessage], settings: SamplingSettings) async throws -> ChatCompletion
    /// Facts recorded with a run (architecture, file hash, endpoint, ...).
    func describe() async -> [String: String]
    /// The probabilities of a closed set of answers as the continuation of the reply to
    /// `messages` after `replyPrefix` (text the reply already holds; empty: at its start),
    /// where the model exposes them (local models); nil otherwise, and the answer is then
    /// read from text. An answer of several tokens gets the product of its tokens'
    /// probabilities; one that begins another ("1" and "10") keeps only the mass of ending
    /// there.
    func answerDistribution(_ messages: [ChatMessage], replyPrefix: String, answers: [String]) async throws -> AnswerDistribution?
    /// What cached replies are keyed by: the id, plus anything that changes the replies for
    /// the same id (a local model's prompt format).
    var cacheIdentity: String { get }
}

extension ChatModel {
    public var cacheIdentity: String { id }

    public func answerDistribution(_ messages: [ChatMessage], replyPrefix: String, answers: [String]) async throws -> AnswerDistribution? { nil }

    public func answerDistribution(_ messages: [ChatMessage], answers: [String]) async throws -> AnswerDistribution? {
        try await answerDistribution(messages, replyPrefix: "", answers: answers)
    }
}

/// A model's choice among a closed set of answers, read from its next-token distribution:
/// each answer's probability is that of its first token, normalised over the answers.
public struct AnswerDistribution: Codable, Sendable, Equatable {
    public var answers: [String]
    /// Normalised over the answers: they sum to 1.
    public var probabilities: [Double]
    /// The share of the whole next-token distribution that fell on the answers before
    /// normalising; low mass means the model wanted to say something else.
    public var allowedMass: Double

    public init(answers: [String], rawProbabilities: [Double]) {
        self.answers = answers
        let mass = rawProbabilities.reduce(0, +)
        allowedMass = mass
        probabilities = mass > 0 ? rawProbabilities.map { $0 / mass } : rawProbabilities.map { _ in 1 / Double(max(1, rawProbabilities.count)) }
    }

    public var mostLikely: String { answers[probabilities.indices.max { probabilities[$0] < probabilities[$1] } ?? 0] }

    /// The expected value when the answers stand for numbers.
    public func expectation(_ values: [Double]) -> Double { zip(probabilities, values).map { $0 * $1 }.reduce(0, +) }
}

public enum ModelAccessError: Error, CustomStringConvertible, Sendable, Equatable {
    case missingAPIKey(variable: String, model: String)
    case http(status: Int, model: String, detail: String)
    case unreadableResponse(model: String, detail: String)
    case gaveUp(model: String, attempts: Int, lastError: String)
    /// A local model string where no engine was given to load it.
    case noLocalEngine(model: String)

    public var description: String {
        switch self {
        case .missingAPIKey(let variable, let model):
            return "\(model) needs an API key in the environment variable \(variable)"
        case .http(let status, let model, let detail):
            return "\(model) answered HTTP \(status): \(detail)"
        case .unreadableResponse(let model, let detail):
            return "\(model) sent a response that could not be read: \(detail)"
        case .gaveUp(let model, let attempts, let lastError):
            return "\(model) failed \(attempts) times; last error: \(lastError)"
        case .noLocalEngine(let model):
            return "\(model) is a local model, and this program was built without the local engine (WelfareLocal's LlamaModels)"
        }
    }
}
