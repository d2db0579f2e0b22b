/// How to pick tokens. `temperature <= 0` is greedy decoding.
public struct GenerationParameters: Codable, Sendable, Equatable, Hashable {
    public var temperature: Float
    public var topP: Float
    public var topK: Int
    public var seed: UInt32
    public var maxTokens: Int
    public var stop: [String]
    /// When set, each generated token carries its log-probability and this many top alternatives.
    public var topLogprobs: Int?
    /// End the reply at any control token (e.g. `<start_of_turn>`), not only end-of-generation ones.
    public var stopAtControlTokens: Bool

    public init(temperature: Float = 0.8, topP: Float = 0.95, topK: Int = 40, seed: UInt32 = 0,
                maxTokens: Int = 256, stop: [String] = [], topLogprobs: Int? = nil, stopAtControlTokens: Bool = true) {
        self.temperature = temperature
        self.topP = topP
        self.topK = topK
        self.seed = seed
        self.maxTokens = maxTokens
        self.stop = stop
        self.topLogprobs = topLogprobs
        self.stopAtControlTokens = stopAtControlTokens
    }

    public static func greedy(maxTokens: Int = 256) -> GenerationParameters {
        GenerationParameters(temperature: 0, maxTokens: maxTokens)
    }

    public var isGreedy: Bool { temperature <= 0 }

    func validate() throws {
        guard maxTokens >= 0 else { throw EngineError.invalidParameter("max tokens must be >= 0") }
        guard topP > 0, topP <= 1 else { throw EngineError.invalidParameter("top-p must be in (0, 1]") }
        guard topK >= 0 else { throw EngineError.invalidParameter("top-k must be >= 0") }
        guard temperature.isFinite else { throw EngineError.invalidParameter("temperature must be finite") }
        if let k = topLogprobs, k < 0 || k > 100 {
            throw EngineError.invalidParameter("top log-probabilities must be in 0...100")
        }
    }
}

public struct TokenLogprob: Codable, Sendable, Equatable {
    public var token: Token
    public var text: String
    public var logprob: Float
}

/// One generated token, as streamed.
public struct GeneratedToken: Sendable {
    public var token: Token
    /// Complete characters this token finished (may be empty mid-character).
    public var text: String
    public var logprob: Float?
    public var topLogprobs: [TokenLogprob]
}

public enum StopReason: String, Codable, Sendable {
    case endOfGeneration, maxTokens, stopString, contextFull
}

public struct Generation: Sendable {
    public var text: String
    public var tokens: [Token]
    public var promptTokenCount: Int
    public var stopReason: StopReason
    /// Per generated token, when `topLogprobs` was set.
    public var logprobs: [GeneratedToken]?
    /// Activations, when a capture was requested.
    public var activations: Activations?
}
