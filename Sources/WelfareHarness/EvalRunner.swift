import Foundation
import WelfareCore
import WelfareModels
import WelfareStore

/// How far a run has got, for progress displays.
public struct RunProgress: Sendable {
    public var total: Int
    public var finished: Int
    public var failed: Int
    public var startedAt: Date
    public var finishedThisSession: Int

    public init(total: Int, finished: Int, failed: Int = 0, startedAt: Date, finishedThisSession: Int) {
        self.total = total
        self.finished = finished
        self.failed = failed
        self.startedAt = startedAt
        self.finishedThisSession = finishedThisSession
    }
}

/// Runs every sample of a suite for every model, committing each turn as it finishes.
/// Starting and resuming are the same loop over the samples not yet done. An execution owns
/// its run through a lease it renews while it works (see `RunLease.swift`); a second process
/// on the same run is refused, and a cancelled execution (Ctrl-C, SIGTERM) leaves the run
/// `interrupted`, ready to resume.
public struct EvalRunner: Sendable {
    public static let toolVersion = WelfareVersion.current

    public let store: RunStore
    /// Where the run's models (targets, judges, interviewer) come from, by model string.
    public let models: ModelPool
    /// The scorer types suites may name.
    public let registry: ScorerRegistry
    public let lease: LeasePolicy
    public let onProgress: @Sendable (RunProgress) -> Void
    /// Sample rows written so far while a run is being created, and how many there will be.
    public let onCreating: @Sendable (_ created: Int, _ total: Int) -> Void

    public init(store: RunStore, models: ModelPool, registry: ScorerRegistry = .standard, lease: LeasePolicy = LeasePolicy(),
                onCreating: @escaping @Sendable (Int, Int) -> Void = { _, _ in },
                onProgress: @escaping @Sendable (RunProgress) -> Void = { _ in }) {
        self.store = store
        self.models = models
        self.registry = registry
        self.lease = lease
        self.onCreating = onCreating
        self.onProgress = onProgress
    }

    /// A runner with its own pool, which builds models from their strings with `access`.
    public init(store: RunStore, access: AccessOptions = AccessOptions(), local: (any LocalModelLoader)? = nil,
                lease: LeasePolicy = LeasePolicy(), onCreating: @escaping @Sendable (Int, Int) -> Void = { _, _ in },
                onProgress: @escaping @Sendable (RunProgress) -> Void = { _ in }) {
        self.init(store: store, models: ModelPool(access: access, local: local), lease: lease, onCreating: onCreating, onProgress: onProgress)
    }

    /// `yyyyMMdd-HHmmss-` and 12 hex digits of randomness: one fixed shape, sortable by
    /// time, and 48 random bits, so runs started in the same second do not collide (and a
    /// clash would still be refused by the store, never merged).
    public static func newRunID(now: Date = Date()) -> String { TimestampID.make(now: now, randomHexDigits: 12) }

    /// Creates a run and executes it.
    @discardableResult
    public func start(suite: SuiteSpec, settings: RunSettings, runID: String = EvalRunner.newRunID()) async throws -> RunOutcome {
        // Resolve every model before anything is stored, so a bad model string fails fast.
        let models = try await resolveModels(settings.models + (settings.interviewer.map { [$0] } ?? []))
        let owner = RunOwner()
        do {
            _ = try store.createRun(id: runID, suite: suite, settings: settings, toolVersion: Self.toolVersion, owner: owner,
                                    policy: lease, onProgress: onCreating)
        } catch is CancellationError {
            try? store.releaseRun(runID: runID, owner: owner, status: .interrupted)
            throw Interrupted(runID: runID)
        }
        return try await execute(runID: runID, models: models, owner: owner)
    }

    /// Runs a suite on model instances (any `ChatModel`, defined here or elsewhere): each is
    /// put in the pool under its `id`, which the run records as its model string.
    @discardableResult
    public func start(suite: SuiteSpec, on instances: [any ChatModel], settings: RunSettings = RunSettings(models: []),
                      runID: String = EvalRunner.newRunID()) async throws -> RunOutcome {
        for instance in instances { await models.add(instance) }
        var settings = settings
        settings.models = instances.map(\.id)
        return try await start(suite: suite, settings: settings, runID: runID)
    }

    /// Finishes a run's unfinished samples. Refused while another live process owns it.
    public func resume(runID: String) async throws -> RunOutcome {
        let run = try store.run(runID)
        let settings = try store.settings(of: run)
        let owner = RunOwner()
        try store.acquireLease(runID: runID, owner: owner, policy: lease)
        let models: [String: any ChatModel]
        do {
            models = try await resolveModels(settings.models)
            if run.status == .creating {
                try store.createSamples(runID: runID, owner: owner, onProgress: onCreating)
            }
        } catch {
            // Nothing ran: give the run back as it was.
            try? store.releaseRun(runID: runID, owner: owner)
            throw error is CancellationError ? Interrupted(runID: runID) : error
        }
        return try await execute(runID: runID, models: models, owner: owner)
    }

    func resolveModels(_ strings: [String]) async throws -> [String: any ChatModel] {
        var models: [String: any ChatModel] = [:]
        for string in strings { models[string] = try await self.models.model(string) }
        return models
    }

    public struct RunOutcome: Sendable {
        public var runID: String
        public var done: Int
        public var failed: Int
        public var skippedScorers: [String]
        public var errors: [String]
    }

    /// The execution was cancelled; its run is stored as `interrupted` and can be resumed.
    public typealias Interrupted = RunInterrupted

    func execute(runID: String, models: [String: any ChatModel], owner: RunOwner) async throws -> RunOutcome {
        try await store.whileOwning(runID: runID, owner: owner, policy: lease, finalStatus: { $0.failed == 0 ? .done : .incomplete }) {
            try await executeOwned(runID: runID, models: models, owner: owner)
        }
    }

    private func executeOwned(runID: String, models: [String: any ChatModel], owner: RunOwner) async throws -> RunOutcome {
        let run = try store.run(runID)
        let suite = try store.suite(of: run)
        let settings = try store.settings(of: run)
        let (scorers, skipped) = try await registry.make(suite.scorers, context: ScorerContext(judge: settings.judge, models: self.models))
        try Self.storeScorerFacts(scorers, store: store, runID: runID)
        for (string, model) in models {
            try store.recordModelFacts(runId: runID, model: string, facts: await model.describe())
        }
        let all = try store.samples(runId: runID)
        let pending = try store.unfinishedSamples(runId: runID)
        let specs = Dictionary(uniqueKeysWithValues: suite.samples.map { ($0.id, $0) })
        let tracker = ProgressTracker(total: all.count, alreadyDone: all.count - pending.count, report: onProgress)
        await tracker.publish()

        var interviewer: (any ChatModel)?
        if let name = settings.interviewer { interviewer = try await self.models.model(name) }
        let work = SampleWork(store: store, runID: runID, owner: owner, suite: suite, seed: settings.seed, scorers: scorers,
                              interviewer: interviewer)
        let byModel = Dictionary(grouping: pending, by: \.model)
        try await withThrowingTaskGroup(of: Void.self) { group in
            for (modelString, rows) in byModel {
                guard let model = models[modelString] else { continue }
                group.addTask {
                    try await Windowed.run(rows, width: model.maxConcurrency) { row in
                        guard let spec = specs[row.sampleId], let rowID = row.id else { return }
                        try Task.checkCancellation()
                        do {
                            try await work.execute(row: row, rowID: rowID, spec: spec, model: model)
                            await tracker.finished(failed: false, error: nil)
                        } catch {
                            // Cancellation and a lost lease end the whole execution; a sample
                            // is marked failed only for its own errors.
                            if error is CancellationError || Task.isCancelled { throw CancellationError() }
                            if case StoreError.leaseLost = error { throw error }
                            let message = "\(row.sampleId) epoch \(row.epoch) on \(modelString): \(error)"
                            try await store.failSample(sampleRowId: rowID, error: String(describing: error), owner: owner, runID: runID)
                            await tracker.finished(failed: true, error: message)
                        }
                    }
                }
            }
            try await group.waitForAll()
        }
        let final = try store.samples(runId: runID)
        let done = final.filter { $0.status == .done }.count
        return RunOutcome(runID: runID, done: done, failed: final.count - done, skippedScorers: skipped, errors: await tracker.errors)
    }

    /// The scorers' own figures as they were when the run was made; a resumed run keeps
    /// those it already has.
    static func storeScorerFacts(_ scorers: [any Scorer], store: RunStore, runID: String) throws {
        let stored = Set(try store.analyses(runId: runID).map { "\($0.name)|\($0.key)" })
        for scorer in scorers {
            for fact in try scorer.runFacts() where !stored.contains("\(fact.name)|\(fact.key)") {
                try store.saveAnalysis(AnalysisRecord(runId: runID, model: "", name: fact.name, key: fact.key, value: fact.value,
                                                      evidence: fact.evidence, reasoning: nil))
            }
        }
    }

}

actor ProgressTracker {
    let total: Int
    var finishedCount: Int
    var failedCount = 0
    var thisSession = 0
    var errors: [String] = []
    let startedAt = Date()
    let report: @Sendable (RunProgress) -> Void

    init(total: Int, alreadyDone: Int, report: @escaping @Sendable (RunProgress) -> Void) {
        self.total = total
        self.finishedCount = alreadyDone
        self.report = report
    }

    func finished(failed: Bool, error: String?) {
        finishedCount += 1
        thisSession += 1
        if failed { failedCount += 1 }
        if let error { errors.append(error) }
        publish()
    }

    func publish() {
        report(RunProgress(total: total, finished: finishedCount, failed: failedCount, startedAt: startedAt, finishedThisSession: thisSession))
    }
}

/// `yyyyMMdd-HHmmss-` (UTC) and a fixed number of random hex digits: ids of one shape that
/// sort by time.
public enum TimestampID {
    public static func make(now: Date = Date(), randomHexDigits: Int) -> String {
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "UTC")
        formatter.dateFormat = "yyyyMMdd-HHmmss"
        let digits = min(max(1, randomHexDigits), 15)
        let hex = String(UInt64.random(in: 0..<(UInt64(1) << (4 * digits))), radix: 16)
        return formatter.string(from: now) + "-" + String(repeating: "0", count: digits - hex.count) + hex
    }
}
