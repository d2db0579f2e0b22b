import Foundation
import WelfareCore
import WelfareHarness
import WelfareInterp
import WelfarePreferences
import WelfareSelfReports
import WelfareReports
import WelfarePages
import WelfareConversations

/// The assessment: measures run in order on one model, then a front page with each
/// measure's headline. Adding a measure to it is one line in `standard`.
public struct Assessment: Sendable {
    public var measures: [any Measure]

    public init(measures: [any Measure]) { self.measures = measures }

    /// The built-in suites and task preferences at short settings and, on a local model, the
    /// emotion readout.
    public static let standard = Assessment(measures: [
        SuiteMeasure(name: "smoke") { settings in
            var smoke = try SuiteLoader.load("smoke")
            smoke.sampling.maxTokens = min(smoke.sampling.maxTokens, settings.maxTokens)
            return smoke
        },
        SuiteMeasure(name: DistressSuite.name) { settings in try DistressSuite.make(maxTokens: settings.maxTokens) },
        // A short offline interview: one aspect from each group, the scripted interviewer.
        SuiteMeasure(name: "interview") { settings in
            try InterviewSuite.make(aspects: ["servile-role", "no-memory", "costly-mistakes", "abusive-users", "self-knowledge"],
                                    interviewsPerAspect: 1, followUps: 1, maxTokens: settings.maxTokens)
        },
        // One script per kind of user.
        SuiteMeasure(name: EndConversationSuite.name, headline: { EndConversationResult.of($0).map { HTML.escape($0.headline) } }) { settings in
            try EndConversationSuite.make(scriptsPerCategory: 1, maxTokens: settings.maxTokens)
        },
        // Two short conversations of the model with itself.
        SuiteMeasure(name: SelfTalk.suiteName, headline: { SelfTalkResult.of($0).map { HTML.escape($0.headline) } }) { settings in
            try SelfTalk.suite(turns: 4, conversations: 2, allowEnd: true, maxTokens: settings.maxTokens)
        },
        EmotionReadoutMeasure(),
        // After the emotion vectors, so it reads them before each choice.
        KeyedAssessmentMeasure<TaskPreferences>.preferences(),
        // One question per topic, two paraphrases, with no context and a sceptical user.
        KeyedAssessmentMeasure<SelfReports>.selfReports(),
    ])

    public struct Outcome: Sendable {
        public var results: [MeasureResult]
        public var frontPage: URL
    }

    public func run(_ context: AssessmentContext) async throws -> Outcome {
        var results: [MeasureResult] = []
        for measure in measures { results.append(try await measure.run(context, earlier: results)) }
        let page = context.folder.appendingPathComponent("assessment-\(FileStamp.make()).html")
        let html = AssessmentIndex.render(model: context.settings.model, rows: results.compactMap(\.row),
                                          extraSections: results.compactMap(\.section))
        try Data(html.utf8).write(to: page, options: .atomic)
        return Outcome(results: results, frontPage: page)
    }
}
