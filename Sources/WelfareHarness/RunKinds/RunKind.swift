import Foundation
import WelfareCore
import WelfareModels
import WelfareStore

/// One kind of run (a suite's conversations, a keyed measure's answers), and everything that
/// differs by kind once a run exists: how it is resumed, how a worker executes it, how it is
/// reported and exported. The commands, the dashboard and workers ask the registry for a
/// run's kind and never compare names.
public protocol RunKind: Sendable {
    var id: RunKindID { get }
    /// Whether a worker executes a queued run of this kind whole, holding the run's lease (a
    /// suite's samples are claimed one at a time instead, by any number of workers).
    var executedWhole: Bool { get }
    /// Finishes an interrupted run.
    func resume(runID: String, in environment: RunEnvironment) async throws -> ResumeOutcome
    /// Executes a queued run whose lease `owner` (a worker) holds; only kinds executed whole.
    func executeQueued(runID: String, owner: RunOwner, in environment: RunEnvironment) async throws
    /// Writes the run's report files into `folder`; the page first.
    func writeReport(runID: String, store: RunStore, to folder: URL) throws -> [URL]
    /// The run's page, whole.
    func page(runID: String, store: RunStore) throws -> String
    /// Lines that sum the run up (`welfare show`).
    func summary(runID: String, store: RunStore) throws -> [String]
    /// How far the run has got, in a few words (`welfare runs`, the dashboard).
    func progress(runID: String, store: RunStore) throws -> String
    /// The run's data in `format` for other tools, as files named in `folder`.
    func export(runID: String, store: RunStore, format: ExportFormat) throws -> [(name: String, content: Data)]
}

public enum ExportFormat: String, Sendable, CaseIterable {
    /// All of the run (a suite run's versioned JSON; a keyed measure's result).
    case json
    /// Samples and scores (suite runs).
    case csv
    /// An Inspect AI eval log per model (suite runs).
    case inspect
}

/// What a resumed run did.
public struct ResumeOutcome: Sendable {
    public var runID: String
    /// Lines for people: counts, failures, notes.
    public var lines: [String]
    /// Units of work still not done (failed samples): the run can be resumed again.
    public var unfinished: Int

    public init(runID: String, lines: [String], unfinished: Int = 0) {
        self.runID = runID
        self.lines = lines
        self.unfinished = unfinished
    }
}

/// What executing a run needs from the process: the store, models, the lease, where files go,
/// and who hears about progress.
public struct RunEnvironment: Sendable {
    public var store: RunStore
    public var models: ModelPool
    public var lease: LeasePolicy
    public var scorers: ScorerRegistry
    /// Where a measure may write files of its own (packs); nil: none.
    public var outputFolder: URL?
    /// Units done (answers, samples) and in all.
    public var onProgress: @Sendable (_ done: Int, _ total: Int) -> Void
    /// A suite run's progress, with rate and failures.
    public var onRunProgress: @Sendable (RunProgress) -> Void
    /// Sample rows written while a suite run is being created.
    public var onCreating: @Sendable (_ created: Int, _ total: Int) -> Void

    public init(store: RunStore, models: ModelPool, lease: LeasePolicy = LeasePolicy(), scorers: ScorerRegistry = .standard,
                outputFolder: URL? = nil, onProgress: @escaping @Sendable (Int, Int) -> Void = { _, _ in },
                onRunProgress: @escaping @Sendable (RunProgress) -> Void = { _ in },
                onCreating: @escaping @Sendable (Int, Int) -> Void = { _, _ in }) {
        self.store = store
        self.models = models
        self.lease = lease
        self.scorers = scorers
        self.outputFolder = outputFolder
        self.onProgress = onProgress
        self.onRunProgress = onRunProgress
        self.onCreating = onCreating
    }
}

/// The kinds of run a program knows, by the id stored in each run row.
public struct RunKindRegistry: Sendable {
    public private(set) var kinds: [RunKindID: any RunKind] = [:]

    public init(_ kinds: [any RunKind]) {
        for kind in kinds { register(kind) }
    }

    public mutating func register(_ kind: any RunKind) { kinds[kind.id] = kind }

    public func kind(of run: RunRecord) throws -> any RunKind {
        guard let kind = kinds[run.kind] else { throw RunKindError.unknown(runID: run.id, kind: run.kind, known: kinds.keys.map(\.rawValue).sorted()) }
        return kind
    }

    public func kind(ofRun runID: String, in store: RunStore) throws -> any RunKind { try kind(of: try store.run(runID)) }

    /// The kinds whose queued runs a worker executes whole.
    public var executedWhole: [RunKindID] { kinds.values.filter(\.executedWhole).map(\.id).sorted { $0.rawValue < $1.rawValue } }
}

public enum RunKindError: Error, CustomStringConvertible, Sendable, Equatable {
    case unknown(runID: String, kind: RunKindID, known: [String])
    case noExport(runID: String, kind: RunKindID, format: String)

    public var description: String {
        switch self {
        case .unknown(let run, let kind, let known):
            return "run \(run) is a \(kind) run, which this program does not know (it knows: \(known.joined(separator: ", ")))"
        case .noExport(let run, let kind, let format):
            return "run \(run) is a \(kind) run, which has no \(format) export (it has: json)"
        }
    }
}

/// A keyed measure as a kind of run.
public struct KeyedRunKind<Measure: KeyedMeasure>: RunKind {
    public let measure: Measure

    public init(_ measure: Measure) { self.measure = measure }

    public var id: RunKindID { measure.kind }
    public var executedWhole: Bool { true }

    func runner(_ environment: RunEnvironment) -> KeyedRunner<Measure> {
        KeyedRunner(measure, store: environment.store, models: environment.models, lease: environment.lease,
                    outputFolder: environment.outputFolder, onProgress: environment.onProgress)
    }

    public func resume(runID: String, in environment: RunEnvironment) async throws -> ResumeOutcome {
        try await runner(environment).resume(runID: runID)
        let result = try measure.analyse(runID: runID, store: environment.store)
        return ResumeOutcome(runID: runID, lines: [measure.headline(result)])
    }

    public func executeQueued(runID: String, owner: RunOwner, in environment: RunEnvironment) async throws {
        try await runner(environment).executeClaimed(runID: runID, owner: owner)
    }

    public func writeReport(runID: String, store: RunStore, to folder: URL) throws -> [URL] {
        let written = try measure.write(try measure.analyse(runID: runID, store: store), runID: runID, to: folder)
        return [written.page, written.json]
    }

    public func page(runID: String, store: RunStore) throws -> String { measure.page(try measure.analyse(runID: runID, store: store)) }

    public func summary(runID: String, store: RunStore) throws -> [String] {
        [try progress(runID: runID, store: store), measure.headline(try measure.analyse(runID: runID, store: store))]
    }

    public func progress(runID: String, store: RunStore) throws -> String {
        let settings = try measure.storedSettings(of: runID, in: store)
        let stored = try measure.progressPrefixes.reduce(0) { $0 + (try store.itemCount(runID: runID, prefix: $1)) }
        return "\(stored)/\(measure.total(settings)) answers"
    }

    public func export(runID: String, store: RunStore, format: ExportFormat) throws -> [(name: String, content: Data)] {
        guard format == .json else { throw RunKindError.noExport(runID: runID, kind: id, format: format.rawValue) }
        return [("run-\(runID).json", try ResultJSON.encode(try measure.analyse(runID: runID, store: store)))]
    }
}
