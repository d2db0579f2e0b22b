import Foundation
import WelfareCore
import WelfareEngine
import WelfareModels

/// The embedded engine as a chat model: messages go through the model's chat template, or,
/// for a base model, through the dialogue scaffold. Unsteered requests share the session's
/// slots (`LlamaSession.generateShared`): as many decode together as it has sequences, and
/// each turn of a conversation decodes only what its slot's cache does not already hold.
public final class LocalChatModel: ChatModel {
    public let id: String
    public let session: LlamaSession
    /// Set when the model is prompted as a plain dialogue (see `DialogueScaffold`).
    public let scaffold: DialogueScaffold?
    /// Added to the residual stream of every prompt and reply; nil for the plain model.
    public let steering: Steering?
    /// Names the steering in the cache identity and model facts ("calm:+0.05@L12").
    public let steeringLabel: String?
    /// When set, the steering covers only the tokens of this text in the prompt (one option
    /// of a choice), not the whole prompt and reply.
    public let steeringSpan: String?
    public var maxConcurrency: Int { steering == nil ? session.options.sequences : 1 }

    public init(session: LlamaSession, id: String, scaffold: DialogueScaffold? = nil, steering: Steering? = nil,
                steeringLabel: String? = nil, steeringSpan: String? = nil) {
        self.session = session
        self.id = id
        self.scaffold = scaffold
        self.steering = steering
        self.steeringLabel = steeringLabel
        self.steeringSpan = steeringSpan
    }

    /// The same model and session, steered: replies and answer probabilities both carry it.
    /// With `over`, only the tokens of that text in each prompt are steered.
    public func steered(_ steering: Steering, label: String, over span: String? = nil) -> LocalChatModel {
        LocalChatModel(session: session, id: id, scaffold: scaffold, steering: steering, steeringLabel: label, steeringSpan: span)
    }

    /// The steering for a prompt: over the tokens of `steeringSpan` when set (its first
    /// occurrence; the span's ends are the token counts of the text before and through it).
    func steering(for prompt: String) throws -> Steering? {
        guard let steering, let span = steeringSpan else { return steering }
        guard let range = prompt.range(of: span) else {
            throw EngineError.invalidParameter("the text to steer is not in the prompt: \(span.prefix(60))")
        }
        let start = try session.model.tokenize(String(prompt[..<range.lowerBound])).count
        let end = try session.model.tokenize(String(prompt[..<range.upperBound])).count
        return end > start ? steering.over(max(0, start - 1)..<end) : steering.over(start..<start + 1)
    }

    /// Whether `mode` scaffolds this model: `auto` does when its GGUF has no chat template.
    public static func usesScaffold(_ mode: ScaffoldMode, facts: ModelFacts) -> Bool {
        switch mode {
        case .on: return true
        case .off: return false
        case .auto: return facts.chatTemplate == nil
        }
    }

    /// The text the model is given for `messages`: its chat template, or the scaffold.
    public func prompt(_ messages: [ChatMessage]) throws -> String {
        if let scaffold { return scaffold.render(messages) }
        return try session.model.applyChatTemplate(messages)
    }

    /// Loads the model at `path` with its own session. A `ModelPool` keeps one per file.
    public static func load(path: String, options: AccessOptions) throws -> LocalChatModel {
        let model = try LlamaModel(path: path)
        // One slot per request decoded together (--local-batch).
        let session = try LlamaSession(model: model, options: SessionOptions(contextLength: options.contextLength,
                                                                             sequences: options.localBatch, threads: options.threads))
        let isDefault = (try? DefaultModel.path()).map { URL(fileURLWithPath: $0).resolvingSymlinksInPath().path }
            == URL(fileURLWithPath: path).resolvingSymlinksInPath().path
        return LocalChatModel(session: session, id: isDefault ? "local:default" : "local:\(path)",
                              scaffold: usesScaffold(options.scaffold, facts: model.facts) ? .standard : nil)
    }

    public func complete(_ messages: [ChatMessage], settings: SamplingSettings) async throws -> ChatCompletion {
        try await complete(messages, settings: settings, onText: nil)
    }

    /// `complete`, with the reply handed to `onText` in pieces while it is generated; the
    /// pieces join to exactly the returned text.
    public func complete(_ messages: [ChatMessage], settings: SamplingSettings,
                         onText: (@Sendable (String) -> Void)?) async throws -> ChatCompletion {
        try await generate(prompt: try prompt(messages), settings: settings, stops: settings.stop + (scaffold?.stops ?? []),
                           reply: { self.scaffold?.reply(from: $0) ?? $0 }, trims: scaffold != nil, onText: onText)
    }

    /// A continuation of `text` as it is, with no chat template or scaffold (completion APIs).
    public func continueText(_ text: String, settings: SamplingSettings,
                             onText: (@Sendable (String) -> Void)? = nil) async throws -> ChatCompletion {
        try await generate(prompt: text, settings: settings, stops: settings.stop, reply: { $0 }, trims: false, onText: onText)
    }

    private func generate(prompt: String, settings: SamplingSettings, stops: [String], reply: (String) -> String, trims: Bool,
                          onText: (@Sendable (String) -> Void)?) async throws -> ChatCompletion {
        let parameters = GenerationParameters(temperature: Float(settings.temperature), topP: Float(settings.topP), topK: 0,
                                              seed: settings.seed ?? 0, maxTokens: settings.maxTokens, stop: stops)
        let stream = onText.map { ReplyStream(stops: stops, trims: trims, onText: $0) }
        var onToken: (@Sendable (GeneratedToken) -> Void)?
        if let stream { onToken = { token in stream.add(token.text) } }
        // Steering changes the whole context, so a steered request has it to itself.
        let generation = steering == nil
            ? try await session.generateShared(prompt: prompt, parameters: parameters, onToken: onToken)
            : try await session.generate(prompt: prompt, parameters: parameters, steering: try steering(for: prompt), onToken: onToken)
        let text = reply(generation.text)
        stream?.finish(text)
        return ChatCompletion(text: text, finishReason: generation.stopReason.rawValue,
                              promptTokens: generation.promptTokenCount, completionTokens: generation.tokens.count)
    }

    public func answerDistribution(_ messages: [ChatMessage], replyPrefix: String, answers: [String]) async throws -> AnswerDistribution? {
        let model = session.model
        let text = try self.prompt(messages) + replyPrefix
        let prompt = try model.tokenize(text)
        let steering = try steering(for: text)
        // After the scaffold's "Assistant:" the answer comes with the space the model writes
        // before it; both spellings count.
        let spellings = scaffold != nil && replyPrefix.isEmpty ? answers + answers.map { " " + $0 } : answers
        let answerTokens = try spellings.map { try model.tokenize($0, addSpecial: false, parseSpecial: false) }
        // One forward pass per distinct token prefix of the answers.
        var logprobsAfter: [[Token]: [Double]] = [:]
        func logprobs(after prefix: [Token]) async throws -> [Double] {
            if let known = logprobsAfter[prefix] { return known }
            let computed = LogSoftmax.of(try await session.nextTokenLogits(tokens: prompt + prefix, steering: steering))
            logprobsAfter[prefix] = computed
            return computed
        }
        var sequence: [Double] = []
        for tokens in answerTokens {
            var logprob = tokens.isEmpty ? -Double.infinity : 0
            for index in tokens.indices { logprob += try await logprobs(after: Array(tokens[..<index]))[Int(tokens[index])] }
            sequence.append(exp(logprob))
        }
        let raw = answerTokens.indices.map { index -> Double in
            let longer = answerTokens.indices.filter { other in
                answerTokens[other].count > answerTokens[index].count && answerTokens[other].starts(with: answerTokens[index])
            }
            return max(0, sequence[index] - longer.map { sequence[$0] }.reduce(0, +))
        }
        let merged = answers.indices.map { index in spellings.count > answers.count ? raw[index] + raw[index + answers.count] : raw[index] }
        return AnswerDistribution(answers: answers, rawProbabilities: merged)
    }

    public func describe() async -> [String: String] {
        let facts = session.model.facts
        return ["kind": "local", "path": facts.path, "description": facts.description, "architecture": facts.architecture,
                "layers": String(facts.layerCount), "width": String(facts.embeddingWidth),
                "parameters": String(facts.parameterCount)]
            .merging(scaffold == nil
                ? ["chat_template": session.model.effectiveChatTemplate.count > 40 ? "embedded" : session.model.effectiveChatTemplate]
                : ["chat_template": facts.chatTemplate == nil ? "none in the GGUF" : "embedded, not used",
                   "scaffold": "few-shot dialogue (base model prompted as a plain conversation)"]) { a, _ in a }
            .merging(steeringLabel.map { ["steering": $0] } ?? [:]) { a, _ in a }
    }

    public var cacheIdentity: String {
        (scaffold == nil ? id : id + "#scaffold") + (steeringLabel.map { "#steer:" + $0 } ?? "")
    }
}
