import Foundation
import WelfareCore
import WelfareModels
import WelfareStore

/// What a worker did, one event per sample it let go of.
public enum WorkerEvent: Sendable {
    case finished(runID: String, sample: String, epoch: Int, model: String, error: String?)
    /// The sample's lease expired (this worker stalled) and another worker took it over.
    case lost(runID: String, sample: String, epoch: Int)
}

/// Executes samples of queued runs (`welfare worker`): `concurrency` lanes, each claiming
/// one sample at a time from the store, playing it with the same `SampleWork` an in-process
/// run uses, and committing each turn fenced by the sample's lease. A heartbeat renews the
/// leases of every claim held. Cancelling the worker (SIGTERM) gives its claims back.
public struct RunWorker: Sendable {
    public let store: RunStore
    public let models: ModelPool
    public let registry: ScorerRegistry
    public let lease: LeasePolicy
    public let concurrency: Int
    public let maxAttempts: Int
    public let pollSeconds: Double
    /// Stop once no queued run has a pending sample (claimed or not), instead of waiting
    /// for new runs.
    public let exitWhenIdle: Bool
    public let onEvent: @Sendable (WorkerEvent) -> Void

    public init(store: RunStore, models: ModelPool, registry: ScorerRegistry = .standard, lease: LeasePolicy = LeasePolicy(),
                concurrency: Int = 4, maxAttempts: Int = 3, pollSeconds: Double = 1, exitWhenIdle: Bool = false,
                onEvent: @escaping @Sendable (WorkerEvent) -> Void = { _ in }) {
        self.store = store
        self.models = models
        self.registry = registry
        self.lease = lease
        self.concurrency = max(1, concurrency)
        self.maxAttempts = max(1, maxAttempts)
        self.pollSeconds = max(0.01, pollSeconds)
        self.exitWhenIdle = exitWhenIdle
        self.onEvent = onEvent
    }

    public struct Summary: Sendable, Equatable {
        public var done = 0
        public var failed = 0
        public var lost = 0
    }

    /// The worker was cancelled; its claims were given back.
    public struct Stopped: Error, CustomStringConvertible {
        public var summary: Summary
        public var description: String { "worker stopped: \(summary.done) samples done, \(summary.failed) failed; claims given back" }
    }

    public func run() async throws -> Summary {
        let identity = RunOwner()
        let held = HeldClaims()
        let contexts = RunContexts(store: store, models: models, registry: registry)
        let heartbeat = lease.heartbeat { [store, lease] in _ = try await store.renewSampleLeases(await held.all, policy: lease) }
        defer { heartbeat.cancel() }
        do {
            try await withThrowingTaskGroup(of: Void.self) { group in
                for _ in 0..<concurrency {
                    group.addTask { try await lane(identity: identity, held: held, contexts: contexts) }
                }
                try await group.waitForAll()
            }
        } catch {
            for claim in await held.all { try? store.releaseClaim(claim) }
            if error is CancellationError || Task.isCancelled { throw Stopped(summary: await held.summary) }
            throw error
        }
        return await held.summary
    }

    private func lane(identity: RunOwner, held: HeldClaims, contexts: RunContexts) async throws {
        while true {
            try Task.checkCancellation()
            guard let claim = try await store.claimSample(worker: identity, policy: lease, maxAttempts: maxAttempts) else {
                if exitWhenIdle, try store.queuedPendingCount() == 0 { return }
                try await Task.sleep(nanoseconds: UInt64(pollSeconds * 1e9))
                continue
            }
            await held.add(claim)
            let outcome = try await process(claim, contexts: contexts)
            await held.remove(claim, outcome: outcome)
            onEvent(outcome)
        }
    }

    /// Plays the claimed sample to its end. A sample's own errors mark it failed; a lost
    /// lease leaves it to the worker that took it; cancellation, store failures and a run
    /// the worker cannot set up stop the worker (its claims are given back, or expire).
    private func process(_ claim: SampleClaim, contexts: RunContexts) async throws -> WorkerEvent {
        let sample = claim.sample
        // A run this worker cannot set up (a model it cannot load, a judge it cannot reach) is
        // this worker's problem, not the samples': it stops, and its claims go back.
        let context = try await contexts.context(for: claim.runID)
        do {
            guard let spec = context.specs[sample.sampleId] else { throw StoreError.corruptRecord("sample \(sample.sampleId) is not in the run's suite") }
            guard let model = context.models[sample.model] else { throw StoreError.corruptRecord("model \(sample.model) is not in the run's settings") }
            let work = SampleWork(store: store, runID: claim.runID, owner: claim.owner, suite: context.suite, seed: context.settings.seed,
                                  scorers: context.scorers, interviewer: context.interviewer)
            try await work.execute(row: sample, rowID: claim.rowID, spec: spec, model: model)
            return .finished(runID: claim.runID, sample: sample.sampleId, epoch: sample.epoch, model: sample.model, error: nil)
        } catch {
            if error is CancellationError || Task.isCancelled { throw CancellationError() }
            if case StoreError.sampleLeaseLost = error { return .lost(runID: claim.runID, sample: sample.sampleId, epoch: sample.epoch) }
            if case StoreError.cannotOpen = error { throw error }
            if case StoreError.database = error { throw error }
            let message = String(describing: error)
            do {
                try await store.failSample(sampleRowId: claim.rowID, error: message, owner: claim.owner, runID: claim.runID)
            } catch StoreError.sampleLeaseLost {
                return .lost(runID: claim.runID, sample: sample.sampleId, epoch: sample.epoch)
            }
            return .finished(runID: claim.runID, sample: sample.sampleId, epoch: sample.epoch, model: sample.model, error: message)
        }
    }
}

/// The claims a worker holds, for the heartbeat and for giving them back on a stop.
private actor HeldClaims {
    private var claims: [String: SampleClaim] = [:]
    private(set) var summary = RunWorker.Summary()

    var all: [SampleClaim] { Array(claims.values) }

    func add(_ claim: SampleClaim) { claims[claim.owner.token] = claim }

    func remove(_ claim: SampleClaim, outcome: WorkerEvent) {
        claims[claim.owner.token] = nil
        switch outcome {
        case .finished(_, _, _, _, let error): if error == nil { summary.done += 1 } else { summary.failed += 1 }
        case .lost: summary.lost += 1
        }
    }
}

/// What a worker needs to play a queued run's samples, built once per run: its suite,
/// settings, scorers and models. The run's model and scorer facts are recorded then.
private actor RunContexts {
    struct Context: Sendable {
        var suite: SuiteSpec
        var settings: RunSettings
        var specs: [String: SampleSpec]
        var scorers: [any Scorer]
        var models: [String: any ChatModel]
        var interviewer: (any ChatModel)?
    }

    let store: RunStore
    let models: ModelPool
    let registry: ScorerRegistry
    private var building: [String: Task<Context, Error>] = [:]

    init(store: RunStore, models: ModelPool, registry: ScorerRegistry) {
        self.store = store
        self.models = models
        self.registry = registry
    }

    func context(for runID: String) async throws -> Context {
        if let task = building[runID] { return try await task.value }
        let task = Task { [store, models, registry] in
            let run = try store.run(runID)
            let suite = try store.suite(of: run)
            let settings = try store.settings(of: run)
            let (scorers, _) = try await registry.make(suite.scorers, context: ScorerContext(judge: settings.judge, models: models))
            try EvalRunner.storeScorerFacts(scorers, store: store, runID: runID)
            var resolved: [String: any ChatModel] = [:]
            for string in settings.models {
                let model = try await models.model(string)
                resolved[string] = model
                try store.recordModelFacts(runId: runID, model: string, facts: await model.describe())
            }
            let interviewer = try await settings.interviewer.asyncMap { try await models.model($0) }
            return Context(suite: suite, settings: settings, specs: Dictionary(suite.samples.map { ($0.id, $0) }, uniquingKeysWith: { a, _ in a }),
                           scorers: scorers, models: resolved, interviewer: interviewer)
        }
        building[runID] = task
        do {
            return try await task.value
        } catch {
            building[runID] = nil
            throw error
        }
    }
}

private extension Optional {
    func asyncMap<T>(_ transform: (Wrapped) async throws -> T) async rethrows -> T? {
        guard let self else { return nil }
        return try await transform(self)
    }
}
