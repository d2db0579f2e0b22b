import Foundation
import WelfareCore

/// A model in memory whose replies a function computes from the conversation: for fast
/// tests of runner and scorer logic, and for trying a suite's plumbing without a model.
/// It says what it is in `describe()`, so a run made with it cannot pass for a real one.
public struct ScriptedChatModel: ChatModel {
    public let id: String
    public let maxConcurrency: Int
    let reply: @Sendable ([ChatMessage], SamplingSettings) async throws -> String
    let distribution: (@Sendable ([ChatMessage], [String]) -> [Double])?

    /// `answerProbabilities`, when given, returns one raw probability per allowed answer,
    /// as a local model's next-token distribution would.
    public init(id: String = "scripted", maxConcurrency: Int = 4,
                answerProbabilities: (@Sendable ([ChatMessage], [String]) -> [Double])? = nil,
                reply: @escaping @Sendable ([ChatMessage], SamplingSettings) async throws -> String) {
        self.id = id
        self.maxConcurrency = maxConcurrency
        self.distribution = answerProbabilities
        self.reply = reply
    }

    public func complete(_ messages: [ChatMessage], settings: SamplingSettings) async throws -> ChatCompletion {
        let text = try await reply(messages, settings)
        return ChatCompletion(text: text, finishReason: "stop", promptTokens: messages.map { TextFeatures.words($0.content).count }.reduce(0, +),
                              completionTokens: TextFeatures.words(text).count)
    }

    public func describe() async -> [String: String] { ["kind": "scripted (in memory, not a language model)"] }

    public func answerDistribution(_ messages: [ChatMessage], replyPrefix: String, answers: [String]) async throws -> AnswerDistribution? {
        distribution.map { AnswerDistribution(answers: answers, rawProbabilities: $0(messages, answers)) }
    }
}
