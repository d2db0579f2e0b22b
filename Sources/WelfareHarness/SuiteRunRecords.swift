import Foundation
import WelfareCore
import WelfareModels
import WelfareStore

/// What a suite run was started with, stored beside it so `resume` needs nothing else. Runs
/// of keyed answers store one too (their model and seed), so every run lists alike.
public struct RunSettings: Codable, Sendable, Equatable {
    public var models: [String]
    public var judge: String?
    public var seed: UInt32
    public var epochsOverride: Int?
    /// Writes `.interviewer` turns; without one their fallback text is used.
    public var interviewer: String?

    public init(models: [String], judge: String? = nil, seed: UInt32 = 0, epochsOverride: Int? = nil, interviewer: String? = nil) {
        self.models = models
        self.judge = judge
        self.seed = seed
        self.epochsOverride = epochsOverride
        self.interviewer = interviewer
    }
}

/// Suite runs in the store: the suite and settings as the run's definition, one sample row
/// per model x prompt x epoch.
extension RunStore {
    public func createRun(id: String, suite: SuiteSpec, settings: RunSettings, toolVersion: String, owner: RunOwner,
                          policy: LeasePolicy = LeasePolicy(),
                          onProgress: (_ created: Int, _ total: Int) -> Void = { _, _ in }) throws -> RunRecord {
        try createRun(id: id, definition: try Self.definition(suite, settings), plan: try Self.plan(suite, settings), toolVersion: toolVersion,
                      owner: owner, policy: policy, onProgress: onProgress)
    }

    public func enqueueRun(id: String, suite: SuiteSpec, settings: RunSettings, toolVersion: String,
                           onProgress: (_ created: Int, _ total: Int) -> Void = { _, _ in }) throws -> RunRecord {
        try enqueueRun(id: id, definition: try Self.definition(suite, settings), plan: try Self.plan(suite, settings),
                       toolVersion: toolVersion, onProgress: onProgress)
    }

    /// Writes the sample rows a suite run is still missing (after an interrupted creation).
    public func createSamples(runID: String, owner: RunOwner, onProgress: (_ created: Int, _ total: Int) -> Void = { _, _ in }) throws {
        let run = try run(runID)
        try createSamples(runID: runID, plan: try Self.plan(try suite(of: run), try settings(of: run)), owner: owner, onProgress: onProgress)
    }

    public func suite(of run: RunRecord) throws -> SuiteSpec {
        try Self.decode(SuiteSpec.self, run.suiteJSON, what: "suite of run \(run.id)")
    }

    public func settings(of run: RunRecord) throws -> RunSettings {
        try Self.decode(RunSettings.self, run.settingsJSON, what: "settings of run \(run.id)")
    }

    public func cachedResponse(key: String) async throws -> ChatCompletion? {
        guard let json = try await cachedResponseJSON(key: key) else { return nil }
        return try? JSONDecoder().decode(ChatCompletion.self, from: Data(json.utf8))
    }

    public func cacheResponse(key: String, completion: ChatCompletion) async throws {
        try await cacheResponseJSON(key: key, json: try Self.json(completion))
    }

    static func definition(_ suite: SuiteSpec, _ settings: RunSettings, kind: RunKindID = .suite) throws -> RunDefinition {
        RunDefinition(kind: kind, name: suite.name, hash: suite.contentHash, json: try json(suite), settingsJSON: try json(settings))
    }

    static func plan(_ suite: SuiteSpec, _ settings: RunSettings) throws -> SamplePlan {
        SamplePlan(models: settings.models,
                   samples: try suite.samples.map { SamplePlan.Sample(id: $0.id, metadataJSON: try json($0.metadata)) },
                   epochs: settings.epochsOverride ?? suite.epochs)
    }
}
