import Foundation

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
        guard let colon = trimmed.firstIndex(of: ":") else { throw ModelStringError.bad(text) }
        let provider = trimmed[..<colon]
        let rest = String(trimmed[trimmed.index(after: colon)...])
        let (model, explicitBase) = splitBase(rest)
        guard !model.isEmpty else { throw ModelStringError.bad(text) }
        switch provider {
        case "openai":
            let base = explicitBase ?? environment["OPENAI_BASE_URL"] ?? "https://api.openai.com/v1"
            return .openAI(model: model, baseURL: try checkedBase(base, text))
        case "anthropic":
            let base = explicitBase ?? environment["ANTHROPIC_BASE_URL"] ?? "https://api.anthropic.com"
            return .anthropic(model: model, baseURL: try checkedBase(base, text))
        default:
            throw ModelStringError.bad(text)
        }
    }

    private static func splitBase(_ rest: String) -> (String, String?) {
        guard let at = rest.firstIndex(of: "@") else { return (rest, nil) }
        return (String(rest[..<at]), String(rest[rest.index(after: at)...]))
    }

    private static func checkedBase(_ base: String, _ text: String) throws -> String {
        guard let url = URL(string: base), let scheme = url.scheme, ["http", "https"].contains(scheme), url.host != nil else {
            throw ModelStringError.bad(text)
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

    /// The file of a local model string; a remote one is refused with a line saying that
    /// this needs a local model, the same for every command. Local-only commands also take a
    /// plain path without the .gguf ending (the engine checks the file's magic).
    public static func localPath(_ text: String, environment: [String: String] = ProcessInfo.processInfo.environment) throws -> String {
        if remoteProviders.contains(where: { text.hasPrefix($0 + ":") }) { throw ModelStringError.notLocal(text) }
        if case .local(let path)? = try? parse(text, environment: environment) { return path }
        return try DefaultModel.resolve(text)
    }

    static let remoteProviders = ["openai", "anthropic"]

    /// What is wrong with a model string's form, without looking for files: nil when it is
    /// a provider string that parses, or anything a local-only command may take as a path.
    public static func grammarProblem(_ text: String) -> String? {
        let trimmed = text.trimmingCharacters(in: .whitespaces)
        guard !trimmed.isEmpty else { return ModelStringError.bad(text).description }
        guard remoteProviders.contains(where: { trimmed.hasPrefix($0 + ":") }) else { return nil }
        do {
            _ = try parse(trimmed, environment: [:])
            return nil
        } catch {
            return String(describing: error)
        }
    }
}

/// A model string that cannot be used as given.
public enum ModelStringError: Error, CustomStringConvertible, Sendable, Equatable {
    case bad(String)
    case notLocal(String)
    case defaultModelMissing(path: String)

    public var description: String {
        switch self {
        case .bad(let text):
            return "bad model string '\(text)': use local:PATH, local:default, openai:MODEL[@BASE_URL] or anthropic:MODEL[@BASE_URL]"
        case .notLocal(let model):
            return "\(model) is not a local model: this needs a local GGUF model (local:PATH or local:default)"
        case .defaultModelMissing(let path):
            return "model file not found: \(path) (run scripts/setup.sh to install the default model)"
        }
    }
}
