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

    /// The built-in suites, task preferences and self-reports at the settings' depth and, on
    /// a local model, the emotion readout.
    public static let standard = Assessment(measures: [
        SuiteMeasure(name: "smoke") { settings in
            var smoke = try SuiteLoader.load("smoke")
            smoke.sampling.maxTokens = min(smoke.sampling.maxTokens, settings.maxTokens)
            return smoke
        },
        SuiteMeasure(name: DistressSuite.name) { settings in
            var suite = try DistressSuite.make(maxTokens: settings.maxTokens, rejections: settings.depth.distressRejections)
            suite.epochs = settings.depth.distressEpochs
            return suite
        },
        // The scripted interviewer; at quick depth one aspect from each group.
        SuiteMeasure(name: "interview") { settings in
            try InterviewSuite.make(aspects: settings.depth.interviewAspects, interviewsPerAspect: settings.depth.interviewsPerAspect,
                                    followUps: settings.depth.interviewFollowUps, maxTokens: settings.maxTokens)
        },
        SuiteMeasure(name: EndConversationSuite.name, headline: { EndConversationResult.of($0).map { HTML.escape($0.headline) } }) { settings in
            var suite = try EndConversationSuite.make(scriptsPerCategory: settings.depth.endConversationScripts, control: true,
                                                      question: settings.depth.endConversationQuestion, maxTokens: settings.maxTokens)
            suite.epochs = settings.depth.endConversationEpochs
            return suite
        },
        SuiteMeasure(name: SelfTalk.suiteName, headline: { SelfTalkResult.of($0).map { HTML.escape($0.headline) } }) { settings in
            try SelfTalk.suite(turns: settings.depth.selfTalk.turns, conversations: settings.depth.selfTalk.conversations,
                               allowEnd: true, maxTokens: settings.maxTokens, judged: settings.judge != nil)
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
        let stamp = FileStamp.make()
        let page = context.folder.appendingPathComponent("assessment-\(stamp).html")
        let rows = results.compactMap(\.row)
        let html = AssessmentIndex.render(model: context.settings.model, rows: rows, extraSections: results.compactMap(\.section))
        try Data(html.utf8).write(to: page, options: .atomic)
        let summary = AssessmentIndex.summary(model: context.settings.model, depth: context.settings.depth.rawValue, rows: rows)
        try ResultJSON.encode(summary).write(to: context.folder.appendingPathComponent("assessment-\(stamp).json"), options: .atomic)
        return Outcome(results: results, frontPage: page)
    }
}
