import Foundation
import WelfareEngine

/// A parsed model string.
///   local:default | local:PATH | PATH.gguf
///   openai:MODEL[@BASE_URL]     key: OPENAI_API_KEY (optional), base: OPENAI_BASE_URL or api.openai.com
///   anthropic:MODEL[@BASE_URL]  key: ANTHROPIC_API_KEY (required), base: ANTHROPIC_BASE_URL or api.anthropic.com
public enum ModelSpec: Equatable, Sendable, CustomStringConvertible {
    case local(path: String)
    case openAI(model: String, baseURL: String)
    case anthropic(model: String, baseURL: String)

    public static func parse(_ text: String, environment: [String: String] = ProcessInfo.processInfo.environment) throws -> ModelSpec {
        let trimmed = text.trimmingCharacters(in: .whitespaces)
        if trimmed.hasPrefix("local:") || trimmed.hasSuffix(".gguf") || trimmed == "default" {
            return .local(path: try DefaultModel.resolve(trimmed))
        }
        guard let colon = trimmed.firstIndex(of: ":") else { throw ModelAccessError.badModelString(text) }
        let provider = trimmed[..<colon]
        let rest = String(trimmed[trimmed.index(after: colon)...])
        let (model, explicitBase) = splitBase(rest)
        guard !model.isEmpty else { throw ModelAccessError.badModelString(text) }
        switch provider {
        case "openai":
            let base = explicitBase ?? environment["OPENAI_BASE_URL"] ?? "https://api.openai.com/v1"
            return .openAI(model: model, baseURL: try checkedBase(base, text))
        case "anthropic":
            let base = explicitBase ?? environment["ANTHROPIC_BASE_URL"] ?? "https://api.anthropic.com"
            return .anthropic(model: model, baseURL: try checkedBase(base, text))
        default:
            throw ModelAccessError.badModelString(text)
        }
    }

    private static func splitBase(_ rest: String) -> (String, String?) {
        guard let at = rest.firstIndex(of: "@") else { return (rest, nil) }
        return (String(rest[..<at]), String(rest[rest.index(after: at)...]))
    }

    private static func checkedBase(_ base: String, _ text: String) throws -> String {
        guard let url = URL(string: base), let scheme = url.scheme, ["http", "https"].contains(scheme), url.host != nil else {
            throw ModelAccessError.badModelString(text)
        }
        return base.hasSuffix("/") ? String(base.dropLast()) : base
    }

    public var description: String {
        switch self {
        case .local(let path): return "local:\(path)"
        case .openAI(let model, let base): return "openai:\(model)@\(base)"
        case .anthropic(let model, let base): return "anthropic:\(model)@\(base)"
        }
    }
}

/// Limits and retry behaviour for model access.
public struct AccessOptions: Sendable {
    public var concurrency: Int
    public var timeoutSeconds: Double
    public var retry: RetryPolicy
    public var threads: Int
    public var contextLength: Int

    public init(concurrency: Int = 4, timeoutSeconds: Double = 120, retry: RetryPolicy = RetryPolicy(),
                threads: Int = ProcessInfo.processInfo.activeProcessorCount, contextLength: Int = 4096) {
        self.concurrency = concurrency
        self.timeoutSeconds = timeoutSeconds
        self.retry = retry
        self.threads = threads
        self.contextLength = contextLength
    }
}

public enum ModelFactory {
    /// Builds the model a string names. Local models with the same path share one loaded
    /// copy through `cache`.
    public static func make(_ text: String, options: AccessOptions = AccessOptions(),
                            environment: [String: String] = ProcessInfo.processInfo.environment) async throws -> any ChatModel {
        switch try ModelSpec.parse(text, environment: environment) {
        case .local(let path):
            return try await LocalChatModel.shared(path: path, options: options)
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

extension ModelFactory {
    /// The engine session of a local model string, for white-box work (capture, steering,
    /// injection); remote model strings are refused with a message saying why.
    public static func localSession(_ text: String, options: AccessOptions = AccessOptions()) async throws -> LlamaSession {
        guard case .local = try ModelSpec.parse(text), let local = try await make(text, options: options) as? LocalChatModel else {
            throw ModelAccessError.notLocal(text)
        }
        return local.session
    }
}
