import Foundation
import WelfareHarness
import WelfareModels
import WelfareReports
import WelfareStore

/// One part of the assessment: it runs, writes its own report if it has one, and gives the
/// front page a headline row and, optionally, a section of its own.
public protocol Measure: Sendable {
    var name: String { get }
    func run(_ context: AssessmentContext, earlier: [MeasureResult]) async throws -> MeasureResult
}

public struct MeasureResult: Sendable {
    public var measure: String
    /// The front page's row; nil when the measure has none (a section only).
    public var row: AssessmentIndex.Row?
    /// HTML for the front page below the table.
    public var section: String?
    /// The run behind it, for later measures that read it (the emotion readout reads the
    /// distress run).
    public var run: RunData?
    /// Files it wrote that later measures may use, by name ("emotion-vectors": the pack's JSON).
    public var files: [String: URL]

    public init(measure: String, row: AssessmentIndex.Row? = nil, section: String? = nil, run: RunData? = nil, files: [String: URL] = [:]) {
        self.measure = measure
        self.row = row
        self.section = section
        self.run = run
        self.files = files
    }
}

/// What every measure of one assessment shares.
public struct AssessmentContext: Sendable {
    public struct Settings: Sendable {
        public var model: String
        public var judge: String?
        /// How large each measure is.
        public var depth: AssessmentDepth
        /// Samples per prompt in every suite when given; else each measure's at this depth.
        public var epochs: Int?
        /// The most tokens per reply in every suite.
        public var maxTokens: Int

        public init(model: String = "local:default", judge: String? = nil, depth: AssessmentDepth = .quick, epochs: Int? = nil,
                    maxTokens: Int? = nil) {
            self.model = model
            self.judge = judge
            self.depth = depth
            self.epochs = epochs
            self.maxTokens = maxTokens ?? depth.maxTokens
        }
    }

    public var settings: Settings
    public var store: RunStore
    public var models: ModelPool
    public var folder: URL
    /// Runs a suite; the CLI passes one with a progress bar and clean Ctrl-C handling.
    public var runSuite: @Sendable (SuiteSpec, RunSettings) async throws -> EvalRunner.RunOutcome
    /// Progress lines for people (the CLI prints them on standard error).
    public var log: @Sendable (String) -> Void

    public init(settings: Settings, store: RunStore, models: ModelPool, folder: URL,
                runSuite: (@Sendable (SuiteSpec, RunSettings) async throws -> EvalRunner.RunOutcome)? = nil,
                log: @escaping @Sendable (String) -> Void = { _ in }) {
        self.settings = settings
        self.store = store
        self.models = models
        self.folder = folder
        self.runSuite = runSuite ?? { suite, runSettings in
            try await EvalRunner(store: store, models: models).start(suite: suite, settings: runSettings)
        }
        self.log = log
    }
}
