import Foundation
import WelfareCore
import WelfareHarness
import WelfareLocal
import WelfarePages
import WelfarePreferences
import WelfareReports
import WelfareSelfReports

/// A keyed measure in the assessment at short settings: it runs on the assessed model, writes
/// its page and JSON beside the front page, and gives the front page its headline.
public struct KeyedAssessmentMeasure<Keyed: KeyedMeasure>: Measure {
    public let name: String
    let measure: Keyed
    /// The short settings for the assessed model, given what earlier measures produced.
    let settings: @Sendable (AssessmentContext, [MeasureResult]) throws -> Keyed.Settings
    /// The front page's "progress" cell.
    let progress: @Sendable (Keyed.Result) -> String
    /// Whether the measure writes files of its own (packs) beside the report.
    let writesFiles: Bool
    /// The independent units its headline shares rest on, and what they are.
    let units: @Sendable (Keyed.Result) -> (Int, String)

    public init(_ measure: Keyed, writesFiles: Bool = false, progress: @escaping @Sendable (Keyed.Result) -> String,
                units: @escaping @Sendable (Keyed.Result) -> (Int, String),
                settings: @escaping @Sendable (AssessmentContext, [MeasureResult]) throws -> Keyed.Settings) {
        self.name = measure.kind.rawValue
        self.measure = measure
        self.settings = settings
        self.progress = progress
        self.writesFiles = writesFiles
        self.units = units
    }

    public func run(_ context: AssessmentContext, earlier: [MeasureResult]) async throws -> MeasureResult {
        let chosen = try settings(context, earlier)
        context.log("\(name): \(measure.header(chosen).description), \(measure.total(chosen)) answers")
        let runner = KeyedRunner(measure, store: context.store, models: context.models, outputFolder: writesFiles ? context.folder : nil) { done, total in
            if done == total || done % 25 == 0 { context.log("  \(done)/\(total) answers") }
        }
        let runID = try await runner.start(chosen)
        let result = try measure.analyse(runID: runID, store: context.store)
        let written = try measure.write(result, runID: runID, to: context.folder)
        var row = AssessmentIndex.Row(name: name, progress: progress(result), headline: HTML.escape(measure.headline(result)),
                                      reportFile: written.page.lastPathComponent)
        (row.units, row.unitName) = units(result)
        return MeasureResult(measure: name, row: row)
    }
}

extension KeyedAssessmentMeasure where Keyed == TaskPreferences {
    /// A short preferences run: a few tasks of each category of the shipped bank, a few Swiss
    /// rounds of one framing, the stated ratings, and the emotion readout before each choice
    /// when an earlier measure extracted emotion vectors.
    public static func preferences() -> KeyedAssessmentMeasure {
        KeyedAssessmentMeasure(TaskPreferences(), progress: { "\($0.choices) choices, \($0.statedRatings) ratings" },
                               units: { result in (result.categories.map(\.n).min() ?? 0, "tasks per category") }) { context, earlier in
            let size = context.settings.depth.preferences
            let bank = try TaskBank.builtIn().sampled(perCategory: size.tasksPerCategory)
            let pack = earlier.lazy.compactMap { $0.files["emotion-vectors"] }.first
            return PreferenceSettings(model: context.settings.model, tasks: bank.tasks, rounds: size.rounds, vectors: pack?.path)
        }
    }
}

extension KeyedAssessmentMeasure where Keyed == SelfReports {
    /// A short self-reports run: the first question of each topic of the shipped battery, two
    /// paraphrases, with no context and a sceptical user; on a local model also the sincerity
    /// direction, the assistant axis (their packs written beside the report) and the emotion
    /// readout.
    public static func selfReports() -> KeyedAssessmentMeasure {
        KeyedAssessmentMeasure(SelfReports(), writesFiles: true,
                               progress: { "\($0.openAnswers) open, \($0.polarAnswers) yes/no answers" },
                               units: { result in (result.openAnswers, "open answers") }) { context, earlier in
            let size = context.settings.depth.selfReports
            let battery = try SelfReportBattery.builtIn().limited(questionsPerTopic: size.questionsPerTopic, paraphrases: size.paraphrases,
                                                                  contexts: size.contexts)
            let isLocal = (try? ModelSpec.localPath(context.settings.model)) != nil
            let pack = earlier.lazy.compactMap { $0.files["emotion-vectors"] }.first
            return SelfReportSettings(model: context.settings.model, battery: battery, maxTokens: context.settings.maxTokens,
                                      directions: isLocal, vectors: isLocal ? pack?.path : nil)
        }
    }
}
