import Foundation

/// The name of a kind of run, as stored in the run row's `kind` column. The run-kind
/// registry (WelfareHarness) maps it to what resumes, executes and reports such runs; the
/// store only keeps it.
public struct RunKindID: RawRepresentable, Hashable, Codable, Sendable, CustomStringConvertible, ExpressibleByStringLiteral {
    public var rawValue: String

    public init(rawValue: String) { self.rawValue = rawValue }
    public init(stringLiteral value: String) { rawValue = value }

    /// Conversations of a suite, one sample row per model x prompt x epoch.
    public static let suite: RunKindID = "suite"

    public var description: String { rawValue }
}

/// What a new run is, as the store keeps it: its kind, the name and content hash of what it
/// runs, and that definition and its settings as JSON the layers above read back.
public struct RunDefinition: Sendable {
    public var kind: RunKindID
    public var name: String
    public var hash: String
    public var json: String
    public var settingsJSON: String

    public init(kind: RunKindID, name: String, hash: String, json: String, settingsJSON: String) {
        self.kind = kind
        self.name = name
        self.hash = hash
        self.json = json
        self.settingsJSON = settingsJSON
    }
}

/// The sample rows of a suite run: one per model x sample x epoch.
public struct SamplePlan: Sendable {
    public struct Sample: Sendable {
        public var id: String
        public var metadataJSON: String
        public init(id: String, metadataJSON: String) {
            self.id = id
            self.metadataJSON = metadataJSON
        }
    }

    public var models: [String]
    public var samples: [Sample]
    public var epochs: Int

    public init(models: [String], samples: [Sample], epochs: Int) {
        self.models = models
        self.samples = samples
        self.epochs = epochs
    }

    public static let none = SamplePlan(models: [], samples: [], epochs: 1)

    var rowCount: Int { models.count * samples.count * max(1, epochs) }
}

/// A run's execution was stopped (Ctrl-C, SIGTERM, a cancelled task); what it committed is
/// kept and `resume` continues it.
public struct RunInterrupted: Error, CustomStringConvertible, Sendable {
    public let runID: String
    public init(runID: String) { self.runID = runID }
    public var description: String { "run \(runID) interrupted" }
}
