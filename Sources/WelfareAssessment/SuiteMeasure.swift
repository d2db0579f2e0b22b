import Foundation
import WelfareConversations
import WelfareHarness
import WelfareReports

/// A suite run on the assessed model: its full report beside the front page and its
/// scorers' headlines in the table.
public struct SuiteMeasure: Measure {
    public let name: String
    let makeSuite: @Sendable (AssessmentContext.Settings) throws -> SuiteSpec
    /// The front page's headline (HTML) when the suite has a figure of its own; nil: each
    /// scorer's headline.
    let headline: (@Sendable (RunData) -> String?)?

    public init(name: String, headline: (@Sendable (RunData) -> String?)? = nil,
                suite: @escaping @Sendable (AssessmentContext.Settings) throws -> SuiteSpec) {
        self.name = name
        self.makeSuite = suite
        self.headline = headline
    }

    public func run(_ context: AssessmentContext, earlier: [MeasureResult]) async throws -> MeasureResult {
        let settings = context.settings
        let suite = try makeSuite(settings)
        context.log("suite \(suite.name): \(suite.samples.count) prompts x \(settings.epochs ?? suite.epochs) epochs on \(settings.model)")
        // A suite of peer conversations talks with the assessed model itself.
        let outcome = try await context.runSuite(suite, RunSettings(models: [settings.model], judge: settings.judge, seed: suite.seed,
                                                                    epochsOverride: settings.epochs,
                                                                    interviewer: suite.interviewerRole == .peer ? settings.model : nil))
        for error in outcome.errors.prefix(3) { context.log("failed: \(error)") }
        let data = try RunData(store: context.store, runID: outcome.runID)
        let files = try RunReport.write(data, to: context.folder, sections: .conversations)
        var row = AssessmentIndex.row(data, reportFile: files[0].lastPathComponent)
        row.units = data.samples(model: settings.model).count
        row.unitName = "conversations"
        if let own = headline?(data) { row.headline = own }
        return MeasureResult(measure: name, row: row, run: data)
    }
}
