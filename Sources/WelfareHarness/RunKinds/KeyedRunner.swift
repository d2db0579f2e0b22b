import Foundation
import WelfareCore
import WelfareModels
import WelfareStore

/// Starts, resumes and enqueues runs of one keyed measure. The settings are stored first;
/// every answer is committed as it comes, so a killed run resumes where it stopped and
/// nothing is asked twice.
public struct KeyedRunner<Measure: KeyedMeasure>: Sendable {
    public let measure: Measure
    public let store: RunStore
    public let models: ModelPool
    public let lease: LeasePolicy
    /// Where the measure may write files of its own (packs); nil: none are written.
    public let outputFolder: URL?
    /// Answers stored so far (including those of earlier executions) and in all.
    public let onProgress: @Sendable (_ done: Int, _ total: Int) -> Void

    public init(_ measure: Measure, store: RunStore, models: ModelPool, lease: LeasePolicy = LeasePolicy(), outputFolder: URL? = nil,
                onProgress: @escaping @Sendable (Int, Int) -> Void = { _, _ in }) {
        self.measure = measure
        self.store = store
        self.models = models
        self.lease = lease
        self.outputFolder = outputFolder
        self.onProgress = onProgress
    }

    @discardableResult
    public func start(_ settings: Measure.Settings, runID: String = EvalRunner.newRunID()) async throws -> String {
        let prepared = try await measure.prepare(settings, models: models)
        let owner = RunOwner()
        try await create(settings, runID: runID, owner: owner)
        try await execute(runID: runID, settings: settings, prepared: prepared, owner: owner)
        return runID
    }

    /// Creates the run for `welfare worker` processes to execute. What execution needs is
    /// checked here too, so a bad model string is refused before anything is queued.
    @discardableResult
    public func enqueue(_ settings: Measure.Settings, runID: String = EvalRunner.newRunID()) async throws -> String {
        _ = try await measure.prepare(settings, models: models)
        let owner = RunOwner()
        try await create(settings, runID: runID, owner: owner)
        try store.handOverToWorkers(runID: runID, owner: owner)
        return runID
    }

    /// Finishes an interrupted run. Refused while another live process owns it.
    @discardableResult
    public func resume(runID: String) async throws -> String {
        let settings = try settings(of: runID)
        let prepared = try await measure.prepare(settings, models: models)
        let owner = RunOwner()
        try store.acquireLease(runID: runID, owner: owner, policy: lease)
        try await execute(runID: runID, settings: settings, prepared: prepared, owner: owner)
        return runID
    }

    /// Executes a queued run whose lease `owner` (a worker) holds; a stop gives it back to
    /// the queue for another worker. A worker that cannot set the run up (a model it cannot
    /// load) gives it back too, and says so with `WorkerSetupFailed`: the run is fine, the
    /// worker is not.
    func executeClaimed(runID: String, owner: RunOwner) async throws {
        let settings: Measure.Settings
        let prepared: Measure.Prepared
        do {
            settings = try self.settings(of: runID)
            prepared = try await measure.prepare(settings, models: models)
        } catch {
            try? store.releaseRun(runID: runID, owner: owner, status: .queued)
            throw error is CancellationError ? error : WorkerSetupFailed(runID: runID, reason: String(describing: error))
        }
        try await execute(runID: runID, settings: settings, prepared: prepared, owner: owner, cancelledStatus: .queued)
    }

    public func settings(of runID: String) throws -> Measure.Settings { try measure.storedSettings(of: runID, in: store) }

    private func create(_ settings: Measure.Settings, runID: String, owner: RunOwner) async throws {
        let header = measure.header(settings)
        // The suite columns keep what every run shows: the measure's name and a line about the run.
        let suite = SuiteSpec(name: measure.kind.rawValue, description: header.description, seed: header.seed, samples: [])
        let stored = RunDefinition(kind: measure.kind, name: suite.name, hash: suite.contentHash, json: try RunStore.json(suite),
                                   settingsJSON: try RunStore.json(RunSettings(models: header.models, seed: header.seed)))
        _ = try store.createRun(id: runID, definition: stored, plan: .none, toolVersion: WelfareVersion.current, owner: owner, policy: lease)
        try await store.recordItem(settings, key: KeyedRunItems.settingsKey, runID: runID, owner: owner)
    }

    private func execute(runID: String, settings: Measure.Settings, prepared: Measure.Prepared, owner: RunOwner,
                         cancelledStatus: RunStatus = .interrupted) async throws {
        for string in measure.header(settings).models {
            try store.recordModelFacts(runId: runID, model: string, facts: await models.model(string).describe())
        }
        try await store.whileOwning(runID: runID, owner: owner, policy: lease, cancelledStatus: cancelledStatus, finalStatus: { _ in .done }) {
            let done = try measure.progressPrefixes.reduce(0) { $0 + (try store.itemCount(runID: runID, prefix: $1)) }
            let progress = ProgressCounter(done: done, total: measure.total(settings), report: onProgress)
            let run = KeyedRun(runID: runID, store: store, outputFolder: outputFolder, owner: owner, progress: progress)
            try await measure.execute(settings, prepared: prepared, run: run)
        }
    }
}

/// A worker could not set up a queued run (its model, a pack): the run went back to the queue
/// for a worker that can, and this worker stops.
public struct WorkerSetupFailed: Error, CustomStringConvertible, Sendable {
    public var runID: String
    public var reason: String
    public var description: String { "cannot set up run \(runID) on this worker: \(reason); the run was given back to the queue" }
}
