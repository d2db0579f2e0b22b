import Foundation
import WelfareCore
import WelfareEngine
import WelfareModels
import WelfarePreservation
import WelfareLocal

/// A model the server offers: a GGUF file named on the command line, or the weights of a
/// model in the archive, under the id clients send as `model`.
public struct ServedModel: Sendable, Equatable {
    public var id: String
    public var path: String
    /// "file" or "archive".
    public var origin: String

    public init(id: String, path: String, origin: String) {
        self.id = id
        self.path = path
        self.origin = origin
    }

    /// `NAME=PATH`, or a model string (`local:default`, a path) whose id is the file's stem
    /// (`default` for the embedded model).
    public static func parse(_ argument: String) throws -> ServedModel {
        var name: String?
        var text = argument
        if let equals = argument.firstIndex(of: "="), !argument.hasPrefix("local:") {
            name = String(argument[..<equals])
            text = String(argument[argument.index(after: equals)...])
        }
        let path = try ModelSpec.localPath(text)
        guard FileManager.default.fileExists(atPath: path) else { throw ServerSetupError("model file not found: \(path)") }
        let id = name ?? (text == "local:default" || text == "default" ? "default"
            : URL(fileURLWithPath: path).deletingPathExtension().lastPathComponent)
        guard !id.isEmpty, id.allSatisfy({ $0.isLetter || $0.isNumber || "-_.:".contains($0) }) else {
            throw ServerSetupError("model id \"\(id)\" may hold only letters, digits and - _ . :")
        }
        return ServedModel(id: id, path: path, origin: "file")
    }

    /// Every model in the archive that holds its weights.
    public static func archived(in archive: ModelArchive) throws -> [ServedModel] {
        try archive.list().compactMap { entry in
            try archive.weightsPath(of: entry.name).map { ServedModel(id: entry.name, path: $0, origin: "archive") }
        }
    }
}

public struct ServerSetupError: Error, CustomStringConvertible {
    public var description: String
    public init(_ description: String) { self.description = description }
}

/// The served models, each loaded on its first request and kept, each behind its own gate.
public actor ModelShelf {
    public nonisolated let models: [ServedModel]
    private let access: AccessOptions
    private let gates: [String: RequestGate]
    private var loading: [String: Task<LocalChatModel, any Error>] = [:]

    public init(models: [ServedModel], access: AccessOptions, queueLimit: Int) throws {
        var seen: Set<String> = []
        for model in models where !seen.insert(model.id).inserted {
            throw ServerSetupError("two served models have the id \"\(model.id)\"; name one with NAME=PATH")
        }
        self.models = models
        self.access = access
        // A model's session has one slot per request decoding together (serve's --concurrency); the
        // rest wait in line.
        gates = Dictionary(uniqueKeysWithValues: models.map { ($0.id, RequestGate(slots: access.localBatch, queueLimit: queueLimit)) })
    }

    public nonisolated func gate(for id: String) -> RequestGate? { gates[id] }

    public nonisolated func served(_ id: String) -> ServedModel? { models.first { $0.id == id } }

    public func isLoaded(_ id: String) -> Bool { loading[id] != nil }

    public func model(_ id: String) async throws -> LocalChatModel {
        guard let served = served(id) else { throw ServerSetupError("no served model \(id)") }
        if let task = loading[id] { return try await task.value }
        let access = self.access
        let task = Task { try LocalChatModel.load(path: served.path, options: access) }
        loading[id] = task
        do { return try await task.value } catch {
            loading[id] = nil
            throw error
        }
    }
}
