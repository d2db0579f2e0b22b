import Foundation
import WelfareCore


/// Limits and retry behaviour for model access.
public struct AccessOptions: Sendable {
    public var concurrency: Int
    public var timeoutSeconds: Double
    public var retry: RetryPolicy
    public var threads: Int
    public var contextLength: Int
    /// When a local model is prompted as a plain dialogue instead of through a chat template.
    public var scaffold: ScaffoldMode
    /// Requests a local model decodes together (its session's slots). 1 keeps a sampled run
    /// bit-reproducible: batched kernels round slightly differently.
    public var localBatch: Int

    public init(concurrency: Int = 4, timeoutSeconds: Double = 120, retry: RetryPolicy = RetryPolicy(),
                threads: Int = ProcessInfo.processInfo.activeProcessorCount, contextLength: Int = 4096,
                scaffold: ScaffoldMode = .auto, localBatch: Int = 1) {
        self.concurrency = concurrency
        self.timeoutSeconds = timeoutSeconds
        self.retry = retry
        self.threads = threads
        self.contextLength = contextLength
        self.scaffold = scaffold
        self.localBatch = localBatch
    }
}

/// Builds local models (`local:PATH`) for a pool or the factory. The engine's loader lives
/// in WelfareLocal, so this layer and everything that only talks to models stays free of it.
public protocol LocalModelLoader: Sendable {
    func load(path: String, options: AccessOptions) async throws -> any ChatModel
}

public enum ModelFactory {
    /// Builds the model a string names; each call loads a local model afresh (a `ModelPool`
    /// shares them).
    public static func make(_ text: String, options: AccessOptions = AccessOptions(),
                            environment: [String: String] = ProcessInfo.processInfo.environment,
                            local: (any LocalModelLoader)? = nil) async throws -> any ChatModel {
        switch try ModelSpec.parse(text, environment: environment) {
        case .local(let path):
            guard let local else { throw ModelAccessError.noLocalEngine(model: text) }
            return try await local.load(path: path, options: options)
        case .openAI(let model, let base):
            let key = environment["OPENAI_API_KEY"].flatMap { $0.isEmpty ? nil : $0 }
            return OpenAIChatModel(model: model, baseURL: base, apiKey: key, options: options)
        case .anthropic(let model, let base):
            guard let key = environment["ANTHROPIC_API_KEY"], !key.isEmpty else {
                throw ModelAccessError.missingAPIKey(variable: "ANTHROPIC_API_KEY", model: "anthropic:\(model)")
            }
            return AnthropicChatModel(model: model, baseURL: base, apiKey: key, options: options)
        }
    }
}
