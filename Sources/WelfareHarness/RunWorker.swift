import Foundation
import WelfareCore
import WelfareModels
import WelfareStore

/// What a worker did, one event per sample it let go of.
public enum WorkerEvent: Sendable {
    case finished(runID: String, sample: String, epoch: Int, model: String, error: String?)
    /// The sample's lease expired (this worker stalled) and another worker took it over.
    case lost(runID: String, sample: String, epoch: Int)
    /// A queued run executed whole (a keyed measure's answers) ended: finished, or with an
    /// error that left it interrupted.
    case finishedRun(runID: String, kind: RunKindID, error: String?)
}

/// Executes queued runs (`welfare worker`): `concurrency` lanes, each claiming one sample at a
/// time from the store, playing it with the same `SampleWork` an in-process run uses, and
/// committing each turn fenced by the sample's lease. A heartbeat renews the leases of every
/// claim held. With no sample to claim, a lane takes a queued run of a kind executed whole
/// (`kinds`): it holds the run's lease, renewed as an in-process run's is, and another worker
/// takes the run over where it stopped if it dies. Cancelling the worker (SIGTERM) gives its
/// claims and runs back.
public struct RunWorker: Sendable {
    public let store: RunStore
    public let models: ModelPool
    public let registry: ScorerRegistry
    /// The kinds of run this worker can execute whole; a queued run of another kind is left
    /// to workers that know it.
    public let kinds: RunKindRegistry
    public let lease: LeasePolicy
    public let concurrency: Int
    public let maxAttempts: Int
    public let pollSeconds: Double
    /// Stop once no queued run has a pending sample (claimed or not), instead of waiting
    /// for new runs.
    public let exitWhenIdle: Bool
    public let onEvent: @Sendable (WorkerEvent) -> Void

    public init(store: RunStore, models: ModelPool, registry: ScorerRegistry = .standard, kinds: RunKindRegistry = RunKindRegistry([]),
                lease: LeasePolicy = LeasePolicy(),
                concurrency: Int = 4, maxAttempts: Int = 3, pollSeconds: Double = 1, exitWhenIdle: Bool = false,
                onEvent: @escaping @Sendable (WorkerEvent) -> Void = { _ in }) {
        self.store = store
        self.models = models
        self.registry = registry
        self.kinds = kinds
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
        /// Queued runs executed whole that this worker finished.
        public var runs = 0
    }

    /// The worker was cancelled; its claims were given back.
    public struct Stopped: Error, CustomStringConvertible {
        public var summary: Summary
        public var description: String {
            "worker stopped: \(summary.done) samples done, \(summary.failed) failed, \(summary.runs) runs finished; claims given back"
        }
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
                if let run = try await store.claimQueuedRun(worker: RunOwner(host: identity.host, pid: identity.pid),
                                                            kinds: kinds.executedWhole, policy: lease) {
                    let outcome = try await executeWhole(run)
                    await held.finished(outcome)
                    onEvent(outcome)
                    continue
                }
                if exitWhenIdle, try store.queuedPendingCount(wholeKinds: kinds.executedWhole) == 0 { return }
                try await Task.sleep(nanoseconds: UInt64(pollSeconds * 1e9))
                continue
            }
            await held.add(claim)
            let outcome = try await process(claim, contexts: contexts)
            await held.remove(claim, outcome: outcome)
            onEvent(outcome)
        }
    }

    /// Executes a claimed queued run of a kind executed whole. Its own errors leave it
    /// interrupted (resume it with `welfare run --resume`); a stop gives it back to the queue.
    private func executeWhole(_ run: RunRecord) async throws -> WorkerEvent {
        let environment = RunEnvironment(store: store, models: models, lease: lease, scorers: registry)
        guard let owner = run.ownerToken.map({ RunOwner(token: $0, host: run.ownerHost ?? "", pid: run.ownerPid ?? 0) }) else {
            throw StoreError.corruptRecord("queued run \(run.id) was claimed without an owner")
        }
        do {
            try await kinds.kind(of: run).executeQueued(runID: run.id, owner: owner, in: environment)
            return .finishedRun(runID: run.id, kind: run.kind, error: nil)
        } catch {
            if error is CancellationError || error is RunInterrupted || Task.isCancelled { throw CancellationError() }
            if error is WorkerSetupFailed { throw error }
            if case StoreError.leaseLost = error { return .finishedRun(runID: run.id, kind: run.kind, error: String(describing: error)) }
            if case StoreError.cannotOpen = error { throw error }
            if case StoreError.database = error { throw error }
            return .finishedRun(runID: run.id, kind: run.kind, error: String(describing: error))
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
        finished(outcome)
    }

    func finished(_ outcome: WorkerEvent) {
        switch outcome {
        case .finished(_, _, _, _, let error): if error == nil { summary.done += 1 } else { summary.failed += 1 }
        case .lost: summary.lost += 1
        case .finishedRun(_, _, let error): if error == nil { summary.runs += 1 }
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
