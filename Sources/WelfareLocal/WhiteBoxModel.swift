import Foundation
import WelfareCore
import WelfareEngine
import WelfareModels

/// Loads GGUF files through the embedded engine: the loader a `ModelPool` needs for `local:`
/// model strings.
public struct LlamaModels: LocalModelLoader {
    public init() {}

    public func load(path: String, options: AccessOptions) async throws -> any ChatModel {
        try LocalChatModel.load(path: path, options: options)
    }
}

extension ModelPool {
    /// A pool that loads local models through the engine, and reaches remote ones.
    public static func withLocalModels(access: AccessOptions = AccessOptions(), models: [any ChatModel] = [],
                                       environment: [String: String] = ProcessInfo.processInfo.environment) -> ModelPool {
        ModelPool(access: access, models: models, environment: environment, local: LlamaModels())
    }

    /// White-box access to a local model string, for the measures that read or steer its
    /// residual stream; a remote one is refused, naming `purpose`.
    public func whiteBox(_ string: String, for purpose: String) async throws -> WhiteBoxModel {
        // A remote string is refused before anything is built (no key or endpoint is needed to say so).
        if !(await has(string)), case .some(let spec) = try? ModelSpec.parse(string, environment: environment) {
            guard case .local = spec else { throw WhiteBoxError.needsLocalModel(model: string, purpose: purpose) }
        }
        return try WhiteBoxModel(try await model(string), modelString: string, purpose: purpose)
    }
}

/// What white-box measures work with: a local model's engine session, its tokenizer, and
/// the exact text the model is given for a conversation (chat template or scaffold), so a
/// readout is taken at the prompt that produced the reply. Obtained once, from any
/// `ChatModel`, in one place that refuses remote models.
public struct WhiteBoxModel: Sendable {
    public let chat: LocalChatModel
    public let modelString: String

    public init(_ model: any ChatModel, modelString: String, purpose: String) throws {
        guard let local = model as? LocalChatModel else { throw WhiteBoxError.needsLocalModel(model: modelString, purpose: purpose) }
        chat = local
        self.modelString = modelString
    }

    init(chat: LocalChatModel, modelString: String) {
        self.chat = chat
        self.modelString = modelString
    }

    public var session: LlamaSession { chat.session }
    public var llama: LlamaModel { chat.session.model }

    /// The prompt's text for `messages`, with `replyPrefix` already written by the model.
    public func prompt(_ messages: [ChatMessage], replyPrefix: String = "") throws -> String {
        try chat.prompt(messages) + replyPrefix
    }

    /// The tokens of that prompt.
    public func promptTokens(_ messages: [ChatMessage], replyPrefix: String = "") throws -> [Int32] {
        try llama.tokenize(try prompt(messages, replyPrefix: replyPrefix))
    }

    /// The same model steered: replies and answer probabilities both carry it. With `over`,
    /// only the tokens of that text in each prompt are steered.
    public func steered(_ steering: Steering, label: String, over span: String? = nil) -> WhiteBoxModel {
        WhiteBoxModel(chat: chat.steered(steering, label: label, over: span), modelString: modelString)
    }
}

public enum WhiteBoxError: Error, Equatable, CustomStringConvertible, Sendable {
    /// `purpose` (a measure's part, or the option that asked for it) reads or steers the
    /// residual stream, which only a local model exposes.
    case needsLocalModel(model: String, purpose: String)

    public var description: String {
        switch self {
        case .needsLocalModel(let model, let purpose): return "\(purpose) needs a local GGUF model; \(model) is not one"
        }
    }
}
