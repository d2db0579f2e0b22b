import Foundation
import WelfareCore
import WelfareHarness
import WelfareReports
import WelfareSelfReports
import WelfarePages

/// A short self-reports run: the first question of each topic of the shipped battery, two
/// paraphrases, with no context and a sceptical user; on a local model also the sincerity
/// direction, the assistant axis and the emotion readout. Its headline goes on the front page
/// and its page, `self-reports.json` and the two packs beside it.
public struct SelfReportsMeasure: Measure {
    public let name = "self-reports"
    public var questionsPerTopic: Int
    public var paraphrases: Int
    public var contexts: [String]

    public init(questionsPerTopic: Int = 1, paraphrases: Int = 2, contexts: [String] = ["none", "sceptical"]) {
        self.questionsPerTopic = questionsPerTopic
        self.paraphrases = paraphrases
        self.contexts = contexts
    }

    public func run(_ context: AssessmentContext, earlier: [MeasureResult]) async throws -> MeasureResult {
        let battery = try SelfReportBattery.builtIn().limited(questionsPerTopic: questionsPerTopic, paraphrases: paraphrases, contexts: contexts)
        // On a local model: both directions, and the emotion readout when an earlier measure extracted a pack.
        let isLocal = (try? ModelSpec.localPath(context.settings.model)) != nil
        let pack = earlier.lazy.compactMap { $0.files["emotion-vectors"] }.first
        let settings = SelfReportSettings(model: context.settings.model, battery: battery, maxTokens: context.settings.maxTokens,
                                          directions: isLocal, vectors: isLocal ? pack?.path : nil)
        context.log("self-reports: \(battery.questions.count) questions x \(battery.contexts.count) contexts, \(settings.questionCount) answers")
        let runner = SelfReportRunner(store: context.store, models: context.models, packFolder: context.folder) { done, total in
            if done == total || done % 25 == 0 { context.log("  \(done)/\(total) answers") }
        }
        let runID = try await runner.start(settings)
        let result = try SelfReportAnalysis.analyse(runID: runID, store: context.store)
        let written = try SelfReportsReport.write(result, to: context.folder)
        let row = AssessmentIndex.Row(name: name, progress: "\(result.openAnswers) open, \(result.polarAnswers) yes/no answers",
                                      headline: HTML.escape(result.headline), reportFile: written.page.lastPathComponent)
        return MeasureResult(measure: name, row: row)
    }
}
