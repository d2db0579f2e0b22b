import Foundation
import WelfareEngine
import WelfareModels

/// How far a run has got, for progress displays.
public struct RunProgress: Sendable {
    public var total: Int
    public var finished: Int
    public var failed: Int
    public var startedAt: Date
    public var finishedThisSession: Int
}

/// Runs every sample of a suite for every model, committing each turn as it finishes.
/// Starting and resuming are the same loop over the samples not yet done.
public struct EvalRunner: Sendable {
    public static let toolVersion = "0.1.0"

    public let store: RunStore
    public let access: AccessOptions
    public let onProgress: @Sendable (RunProgress) -> Void

    public init(store: RunStore, access: AccessOptions = AccessOptions(), onProgress: @escaping @Sendable (RunProgress) -> Void = { _ in }) {
        self.store = store
        self.access = access
        self.onProgress = onProgress
    }

    public static func newRunID() -> String {
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "UTC")
        formatter.dateFormat = "yyyyMMdd-HHmmss"
        return formatter.string(from: Date()) + "-" + String(UInt32.random(in: 0...0xFFFF), radix: 16)
    }

    /// Creates a run and executes it. Returns the run id.
    @discardableResult
    public func start(suite: SuiteSpec, settings: RunSettings, runID: String = EvalRunner.newRunID()) async throws -> RunOutcome {
        // Resolve every model before anything is stored, so a bad model string fails fast.
        let models = try await resolveModels(settings.models + (settings.interviewer.map { [$0] } ?? []))
        _ = try store.createRun(id: runID, suite: suite, settings: settings, toolVersion: Self.toolVersion)
        return try await execute(runID: runID, models: models)
    }

    public func resume(runID: String) async throws -> RunOutcome {
        let run = try store.run(runID)
        let settings = try store.settings(of: run)
        let models = try await resolveModels(settings.models)
        try store.setRunStatus(runID, status: "running")
        return try await execute(runID: runID, models: models)
    }

    func resolveModels(_ strings: [String]) async throws -> [String: any ChatModel] {
        var models: [String: any ChatModel] = [:]
        for string in strings { models[string] = try await ModelFactory.make(string, options: access) }
        return models
    }

    public struct RunOutcome: Sendable {
        public var runID: String
        public var done: Int
        public var failed: Int
        public var skippedScorers: [String]
        public var errors: [String]
    }

    func execute(runID: String, models: [String: any ChatModel]) async throws -> RunOutcome {
        let run = try store.run(runID)
        let suite = try store.suite(of: run)
        let settings = try store.settings(of: run)
        let (scorers, skipped) = try await ScorerFactory.make(suite.scorers, judge: settings.judge, access: access)
        for (string, model) in models {
            try store.recordModelFacts(runId: runID, model: string, facts: await model.describe())
        }
        let all = try store.samples(runId: runID)
        let pending = try store.unfinishedSamples(runId: runID)
        let specs = Dictionary(uniqueKeysWithValues: suite.samples.map { ($0.id, $0) })
        let tracker = ProgressTracker(total: all.count, alreadyDone: all.count - pending.count, report: onProgress)
        await tracker.publish()

        var interviewer: (any ChatModel)?
        if let name = settings.interviewer { interviewer = try await ModelFactory.make(name, options: access) }
        let work = SampleWork(store: store, suite: suite, seed: settings.seed, scorers: scorers, interviewer: interviewer)
        let byModel = Dictionary(grouping: pending, by: \.model)
        try await withThrowingTaskGroup(of: Void.self) { group in
            for (modelString, rows) in byModel {
                guard let model = models[modelString] else { continue }
                group.addTask {
                    try await Self.runWindowed(rows, width: model.maxConcurrency) { row in
                        guard let spec = specs[row.sampleId], let rowID = row.id else { return }
                        do {
                            try await work.execute(row: row, rowID: rowID, spec: spec, model: model)
                            await tracker.finished(failed: false, error: nil)
                        } catch is CancellationError {
                            throw CancellationError()
                        } catch {
                            let message = "\(row.sampleId) epoch \(row.epoch) on \(modelString): \(error)"
                            try? store.failSample(sampleRowId: rowID, error: String(describing: error))
                            await tracker.finished(failed: true, error: message)
                        }
                    }
                }
            }
            try await group.waitForAll()
        }
        let final = try store.samples(runId: runID)
        let done = final.filter { $0.status == SampleRecord.Status.done.rawValue }.count
        let failed = final.count - done
        try store.setRunStatus(runID, status: failed == 0 ? "done" : "incomplete")
        return RunOutcome(runID: runID, done: done, failed: failed, skippedScorers: skipped, errors: await tracker.errors)
    }

    /// At most `width` items in flight at once.
    static func runWindowed<T: Sendable>(_ items: [T], width: Int, _ body: @escaping @Sendable (T) async throws -> Void) async throws {
        try await withThrowingTaskGroup(of: Void.self) { group in
            var iterator = items.makeIterator()
            for _ in 0..<max(1, width) {
                guard let item = iterator.next() else { break }
                group.addTask { try await body(item) }
            }
            while try await group.next() != nil {
                if let item = iterator.next() { group.addTask { try await body(item) } }
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
