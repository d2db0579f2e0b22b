import Foundation
import WelfareCore
import WelfareEngine

/// The models a process works with, by model string: instances handed in (any `ChatModel`,
/// for example one defined outside this package or an in-memory model in a test) and models
/// built from their strings on first use. A local model named twice (as target and judge,
/// or by two runs) is loaded once per pool, not once per process.
public actor ModelPool {
    public let access: AccessOptions
    private var models: [String: any ChatModel] = [:]
    private let environment: [String: String]

    public init(access: AccessOptions = AccessOptions(), models: [any ChatModel] = [],
                environment: [String: String] = ProcessInfo.processInfo.environment) {
        self.access = access
        self.environment = environment
        for model in models { self.models[model.id] = model }
    }

    /// Makes `model` the one that `model.id` names from now on.
    public func add(_ model: any ChatModel) { models[model.id] = model }

    public func model(_ string: String) async throws -> any ChatModel {
        if let model = models[string] { return model }
        let key = try cacheKey(string)
        if let model = models[key] {
            models[string] = model
            return model
        }
        let made = try await ModelFactory.make(string, options: access, environment: environment)
        // Another call may have built the same model while this one waited.
        if let model = models[key] { return model }
        models[key] = made
        models[string] = made
        return made
    }

    /// The engine session of a local model string, for white-box work; a remote model
    /// string is refused with a line saying why.
    public func localSession(_ string: String) async throws -> LlamaSession {
        _ = try ModelSpec.localPath(string, environment: environment)
        guard let local = try await model(string) as? LocalChatModel else { throw ModelStringError.notLocal(string) }
        return local.session
    }

    /// Local models that differ only in how they are spelled share one key.
    private func cacheKey(_ string: String) throws -> String {
        switch try ModelSpec.parse(string, environment: environment) {
        case .local(let path): return "local-file:" + URL(fileURLWithPath: path).resolvingSymlinksInPath().path
        case let other: return other.description
        }
    }
}
