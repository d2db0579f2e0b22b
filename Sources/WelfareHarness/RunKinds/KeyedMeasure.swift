import Foundation
import WelfareCore
import WelfareModels
import WelfareStore

/// A measure whose run is a set of answers stored under keys (pairwise choices, answers to a
/// battery, readouts), rather than conversations of a suite. It says what to ask and how to
/// read the answers; `KeyedRunner` owns everything else: creating and resuming the run, its
/// settings, the lease, progress, workers, and the errors all of that can raise.
///
/// Adding one: conform a type in the measure's module, and add `KeyedRunKind(TheMeasure())`
/// to the registry of run kinds. `welfare run --resume`, `report`, `show`, `export`, the
/// dashboard and workers then know its runs.
public protocol KeyedMeasure: Sendable {
    /// What a run was started with; stored with it, so a resume needs nothing else.
    associatedtype Settings: Codable & Sendable
    /// What `execute` needs that is loaded and checked before anything is stored: models,
    /// probes, packs.
    associatedtype Prepared: Sendable
    /// The figures, from the stored answers alone.
    associatedtype Result: Encodable & Sendable

    /// The run's kind, also stored as its suite name; the measure's command is named so.
    var kind: RunKindID { get }
    /// What the run row says: a line about the run, its models and seed.
    func header(_ settings: Settings) -> KeyedRunHeader
    /// Answers a run asks in all, for progress.
    func total(_ settings: Settings) -> Int
    /// Key prefixes of the items that count as progress.
    var progressPrefixes: [String] { get }
    /// Loads and checks what execution needs, before anything is stored (a bad model string
    /// or pack is one line and no run).
    func prepare(_ settings: Settings, models: ModelPool) async throws -> Prepared
    /// Asks what is not stored yet, recording each answer through `run` as it comes.
    func execute(_ settings: Settings, prepared: Prepared, run: KeyedRun) async throws
    /// The figures of a stored run.
    func analyse(runID: String, store: RunStore) throws -> Result
    /// One line of the result, for `show`, the command's output and the assessment.
    func headline(_ result: Result) -> String
    /// The result's HTML page, whole (the report file and the dashboard show it).
    func page(_ result: Result) -> String
}

extension KeyedMeasure {
    /// The result's JSON file, written beside its page: `KIND.json`.
    public var resultFileName: String { "\(kind.rawValue).json" }
    /// The page's file: `KIND-RUN.html`.
    public func pageFileName(runID: String) -> String { "\(kind.rawValue)-\(runID).html" }

    /// Writes the result's JSON (`ResultJSON`: snake_case, "nan" for undefined figures) and
    /// its page into `folder`.
    public func write(_ result: Result, runID: String, to folder: URL) throws -> (json: URL, page: URL) {
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        let json = folder.appendingPathComponent(resultFileName)
        try ResultJSON.encode(result).write(to: json, options: .atomic)
        let page = folder.appendingPathComponent(pageFileName(runID: runID))
        try Data(self.page(result).utf8).write(to: page, options: .atomic)
        return (json, page)
    }
}

extension KeyedMeasure {
    /// The settings a run of this measure was started with; a run of another kind, or one
    /// stopped before its settings were stored, is refused with a line saying so.
    public func storedSettings(of runID: String, in store: RunStore) throws -> Settings {
        let run = try store.run(runID)
        guard run.kind == kind else { throw KeyedRunError.wrongKind(runID: runID, kind: run.kind, expected: kind) }
        guard let settings = try store.items(Settings.self, runID: runID, prefix: KeyedRunItems.settingsKey)[KeyedRunItems.settingsKey] else {
            throw KeyedRunError.noSettings(runID: runID, kind: kind)
        }
        return settings
    }
}

extension RunStore {
    /// A keyed run's answers of one family, by full key.
    public func items<Value>(_ family: ItemFamily<Value>, runID: String) throws -> [String: Value] {
        try items(Value.self, runID: runID, prefix: family.prefix)
    }
}

/// What a keyed run's row says about it.
public struct KeyedRunHeader: Sendable {
    public var description: String
    /// The models whose facts are recorded with the run (the first is the one measured).
    public var models: [String]
    public var seed: UInt32

    public init(description: String, models: [String], seed: UInt32) {
        self.description = description
        self.models = models
        self.seed = seed
    }
}

/// The keys of one kind of answer: a prefix ("choice/") and the value stored under it.
public struct ItemFamily<Value: Codable & Sendable>: Sendable {
    public let prefix: String

    public init(_ prefix: String) { self.prefix = prefix }

    public func key(_ suffix: String = "") -> ItemKey<Value> { ItemKey(text: prefix + suffix) }

    /// The same values under a longer prefix (a steered copy of a tournament, one framing).
    public func within(_ outer: String) -> ItemFamily<Value> { ItemFamily(outer + prefix) }
    public func narrowed(to suffix: String) -> ItemFamily<Value> { ItemFamily(prefix + suffix) }

    /// The part of a full key after the prefix.
    public func suffix(of key: String) -> String { key.hasPrefix(prefix) ? String(key.dropFirst(prefix.count)) : key }
}

public struct ItemKey<Value: Codable & Sendable>: Hashable, Sendable {
    public let text: String
}

/// The run a measure is executing: what it stored so far, and where new answers go. Every
/// write checks the lease, and a key is written once (a second write, from a step redone after
/// a kill, is ignored).
public struct KeyedRun: Sendable {
    public let runID: String
    public let store: RunStore
    /// Where the measure may write files of its own (packs); nil when it was not given one.
    public let outputFolder: URL?
    let owner: RunOwner
    let progress: ProgressCounter

    public func stored<Value>(_ family: ItemFamily<Value>) throws -> [String: Value] { try store.items(family, runID: runID) }

    /// Records one answer; `counted` ones advance the progress count.
    public func record<Value>(_ value: Value, at key: ItemKey<Value>, counted: Bool = true) async throws {
        try await store.recordItem(value, key: key.text, runID: runID, owner: owner)
        if counted { progress.add() }
    }
}

public enum KeyedRunError: Error, CustomStringConvertible, Sendable, Equatable {
    case wrongKind(runID: String, kind: RunKindID, expected: RunKindID)
    case noSettings(runID: String, kind: RunKindID)

    public var description: String {
        switch self {
        case .wrongKind(let run, let kind, let expected): return "run \(run) is a \(kind) run, not a \(expected) run"
        case .noSettings(let run, let kind):
            return "run \(run) has no stored \(kind) settings (it was stopped while being created); start a new run"
        }
    }
}

/// The key a keyed run's settings are stored under.
public enum KeyedRunItems {
    public static let settingsKey = "settings"
}
