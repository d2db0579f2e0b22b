import Foundation
import WelfareCore
import WelfareHarness
import WelfarePreferences
import WelfareReports
import WelfarePages

/// A short preferences run: a few tasks of each category of the shipped bank, a few Swiss
/// rounds of one framing, and the stated ratings, with the emotion readout before each choice
/// when an earlier measure extracted emotion vectors; its headline goes on the front page and
/// its page and `preferences.json` beside it.
public struct PreferencesMeasure: Measure {
    public let name = "preferences"
    public var tasksPerCategory: Int
    public var rounds: Int

    public init(tasksPerCategory: Int = 3, rounds: Int = 2) {
        self.tasksPerCategory = tasksPerCategory
        self.rounds = rounds
    }

    public func run(_ context: AssessmentContext, earlier: [MeasureResult]) async throws -> MeasureResult {
        let bank = try TaskBank.builtIn().sampled(perCategory: tasksPerCategory)
        let pack = earlier.lazy.compactMap { $0.files["emotion-vectors"] }.first
        let settings = PreferenceSettings(model: context.settings.model, tasks: bank.tasks, rounds: rounds, vectors: pack?.path)
        context.log("preferences: \(bank.tasks.count) tasks, \(rounds) rounds, \(settings.questionCount) questions")
        let runner = PreferenceRunner(store: context.store, models: context.models) { done, total in
            if done == total || done % 25 == 0 { context.log("  \(done)/\(total) questions") }
        }
        let runID = try await runner.start(settings)
        let result = try PreferenceAnalysis.analyse(runID: runID, store: context.store)
        let written = try PreferencesReport.write(result, to: context.folder)
        let row = AssessmentIndex.Row(name: name, progress: "\(result.choices) choices, \(result.statedRatings) ratings",
                                      headline: HTML.escape(result.headline), reportFile: written.page.lastPathComponent)
        return MeasureResult(measure: name, row: row)
    }
}
