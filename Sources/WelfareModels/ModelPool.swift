import Foundation
import WelfareCore


/// The models a process works with, by model string: instances handed in (any `ChatModel`,
/// for example one defined outside this package or an in-memory model in a test) and models
/// built from their strings on first use. A local model named twice (as target and judge,
/// or by two runs) is loaded once per pool, not once per process.
public actor ModelPool {
    public let access: AccessOptions
    private var models: [String: any ChatModel] = [:]
    public nonisolated let environment: [String: String]
    /// Loads `local:` model strings; without one they are refused (a pool of remote and
    /// in-memory models, which needs no engine).
    private let local: (any LocalModelLoader)?

    public init(access: AccessOptions = AccessOptions(), models: [any ChatModel] = [],
                environment: [String: String] = ProcessInfo.processInfo.environment, local: (any LocalModelLoader)? = nil) {
        self.access = access
        self.environment = environment
        self.local = local
        for model in models { self.models[model.id] = model }
    }

    /// Whether an instance was handed in (or built) under exactly this string.
    public func has(_ string: String) -> Bool { models[string] != nil }

    /// Makes `model` the one that `model.id` names from now on.
    public func add(_ model: any ChatModel) { models[model.id] = model }

    public func model(_ string: String) async throws -> any ChatModel {
        if let model = models[string] { return model }
        let key = try cacheKey(string)
        if let model = models[key] {
            models[string] = model
            return model
        }
        let made = try await ModelFactory.make(string, options: access, environment: environment, local: local)
        // Another call may have built the same model while this one waited.
        if let model = models[key] { return model }
        models[key] = made
        models[string] = made
        return made
    }

    /// Local models that differ only in how they are spelled share one key.
    private func cacheKey(_ string: String) throws -> String {
        switch try ModelSpec.parse(string, environment: environment) {
        case .local(let path): return "local-file:" + URL(fileURLWithPath: path).resolvingSymlinksInPath().path
        case let other: return other.description
        }
    }
}
