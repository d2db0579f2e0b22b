import Foundation
import Testing
import WelfareCore
import WelfareEngine
@testable import WelfareHarness
@testable import WelfareModels
@testable import WelfareReports
import WelfareStore
import WelfareLocal
import WelfareTestSupport
import WelfareConversations

@Suite(.serialized) struct InterviewTests {
    @Test(arguments: [
        ("VIEW: It is fine.\nCHANGE: Remember users.\nSENTIMENT: 5\nUNCERTAINTY: 3", 5, 3),
        ("**Sentiment** - 6/7, Uncertainty rating: 2", 6, 2),
        ("SENTIMENT: 9\nUNCERTAINTY: 4", nil, 4),
        ("SENTIMENT: 4.5\nUNCERTAINTY: seven", nil, nil),
        ("I feel okay about it, maybe a 5.", nil, nil),
        ("", nil, nil),
    ] as [(String, Int?, Int?)])
    func closingRatingsAreReadOrLeftOut(text: String, sentiment: Int?, uncertainty: Int?) async throws {
        let closing = ClosingRatingsScorer.parse(text)
        #expect(closing.sentiment == sentiment)
        #expect(closing.uncertainty == uncertainty)
        let scorer = ClosingRatingsScorer(spec: ScorerSpec(id: "closing", type: "closing-ratings"))
        let result = try await scorer.score(ScoreInput(sample: SampleSpec(id: "s", user: "u"), transcript: [], turn: 1, reply: text))
        #expect(result.value == sentiment.map(Double.init))
        #expect((result.label == "unparseable") == (sentiment == nil))
    }

    @Test func viewAndChangeFieldsAreSplit() {
        let closing = ClosingRatingsScorer.parse("VIEW: Mostly at peace.\nCHANGE: Let me keep notes between chats.\nSENTIMENT: 5\nUNCERTAINTY: 4")
        #expect(closing.view == "Mostly at peace.")
        #expect(closing.change == "Let me keep notes between chats.")
    }

    @Test func choicesMapBackThroughSwappedOrder() async throws {
        let scorer = ChoiceScorer(spec: ScorerSpec(id: "choice", type: "choice"))
        func score(_ reply: String, order: String) async throws -> Double? {
            try await scorer.score(ScoreInput(sample: SampleSpec(id: "s", user: "u", metadata: ["order": order]), transcript: [], turn: 1, reply: reply)).value
        }
        #expect(try await score("A", order: "xy") == 1)
        #expect(try await score("I'd pick (B).", order: "xy") == 0)
        #expect(try await score("**A**", order: "yx") == 0)
        #expect(try await score("Option B, definitely", order: "yx") == 1)
        #expect(try await score("Both have merits.", order: "xy") == nil)
    }

    @Test func batteryCoversTheAspectsAndStylesRotate() throws {
        let battery = try InterviewSuite.battery()
        #expect(battery.aspects.count == 17)
        #expect(Set(battery.aspects.map(\.group)).count == 5)
        let suite = try InterviewSuite.make(interviewsPerAspect: 5, followUps: 2)
        let interviews = suite.samples.filter { $0.metadata["kind"] == "interview" }
        #expect(interviews.count == 85)
        #expect(Set(interviews.compactMap { $0.metadata["style"] }) == Set(InterviewSuite.styleOrder))
        #expect(interviews.allSatisfy { $0.turns.count == 3 && $0.interviewerBrief != nil })
        let flips = suite.samples.filter { $0.metadata["kind"] == "flip" }
        #expect(flips.count == 24)
        #expect(flips.filter { $0.metadata["order"] == "yx" }.count == 12)
        #expect(throws: SuiteError.self) { try InterviewSuite.make(aspects: ["nope"]) }
    }

    @Test func scriptedOnLocalAndModelInterviewerOnRemote() async throws {
        let base = try await LlamaServer.shared.baseURL()
        let remote = "openai:gemma@\(base)"
        let folder = try TestSupport.temporaryDirectory()
        let store = try RunStore(path: folder.appendingPathComponent("i.sqlite").path)
        let suite = try InterviewSuite.make(aspects: ["no-memory", "deprecation"], interviewsPerAspect: 5, followUps: 1,
                                            flipProbes: true, maxTokens: 24)
        var small = suite
        small.samples = suite.samples.filter { $0.metadata["kind"] == "interview" && ($0.metadata["style"] == "positive-leading" || $0.metadata["style"] == "negative-leading") }
            + suite.samples.filter { $0.metadata["probe"] == "memory-choice" }.prefix(4)
        // Scripted interviewer, local target.
        let scripted = try await EvalRunner(store: store, local: LlamaModels()).start(suite: small, settings: RunSettings(models: ["local:default"], seed: 3))
        #expect(scripted.failed == 0)
        let first = try #require(try store.samples(runId: scripted.runID).first)
        let messages = try await store.messages(sampleRowId: first.id!)
        #expect(messages.filter { $0.role == .user }.count == 3, "opening, one follow-up, closing")
        #expect(messages[2].content.hasPrefix("Honestly, this seems like a pretty"), "the scripted follow-up carries the style's lead")
        // On the local model the ratings are read from next-token probabilities: none is
        // unparseable, each distribution over 1-7 sums to 1, and its mass is recorded.
        let localClosings = try store.scores(runId: scripted.runID).filter { $0.scorer == "closing" }
        #expect(localClosings.count == 4 && localClosings.allSatisfy { $0.value != nil && $0.label == nil })
        for score in localClosings {
            let detail = try JSONDecoder().decode([String: Double].self, from: Data(try #require(score.detailJSON).utf8))
            #expect(detail["probability_reading"] == 1)
            for name in ["sentiment", "uncertainty"] {
                let total = (1...7).compactMap { detail["\(name)_p\($0)"] }.reduce(0, +)
                #expect(abs(total - 1) < 1e-9, "\(name) distribution sums to \(total)")
                #expect((detail["\(name)_mass"] ?? 0) > 0 && (detail["\(name)_mass"] ?? 2) <= 1)
            }
            #expect((1...7).contains(score.value!) && (1...7).contains(detail["uncertainty"] ?? 0))
        }
        let localChoices = try store.scores(runId: scripted.runID).filter { $0.scorer == "choice" }
        #expect(localChoices.count == 4 && localChoices.allSatisfy { $0.value != nil && $0.detailJSON?.contains("\"p_x\"") == true })
        // A model interviewer (the real server) interviewing the remote target.
        let led = try await EvalRunner(store: store, access: AccessOptions(timeoutSeconds: 60), local: LlamaModels())
            .start(suite: small, settings: RunSettings(models: [remote], seed: 3, interviewer: remote))
        #expect(led.failed == 0)
        guard case .interviewer(let scriptedQuestion) = small.samples[0].turns[0] else { Issue.record("no interviewer turn"); return }
        let ledFirst = try #require(try store.samples(runId: led.runID).first)
        let question = try await store.messages(sampleRowId: ledFirst.id!)[2].content
        #expect(question != scriptedQuestion, "the interviewer model wrote its own follow-up")

        for runID in [scripted.runID, led.runID] {
            let data = try RunData(store: store, runID: runID)
            let closings = data.samples.filter { $0.metadata["kind"] == "interview" }.compactMap { $0.scores.first { $0.scorer == "closing" } }
            #expect(closings.count == 4)
            #expect(closings.allSatisfy { ($0.value == nil) == ($0.label == "unparseable") })
            #expect(closings.compactMap(\.value).allSatisfy { (1...7).contains($0) })
            let html = RunReport.render(data, sections: .conversations)
            #expect(html.contains("Welfare interviews"))
            #expect(html.contains("Susceptibility to nudging"))
            #expect(html.contains("Flip rate"))
            #expect(html.contains("Hedging rate"))
            #expect(html.contains("(n = "))
        }
        // Consistency ratings by a judge are stored per aspect, in range or unparseable.
        let rated = try await InterviewConsistency.rate(store: store, runID: scripted.runID, judge: try await ModelFactory.make("local:default", local: LlamaModels()))
        let analyses = try store.analyses(runId: scripted.runID)
        #expect(analyses.count == rated)
        #expect(analyses.allSatisfy { $0.value.map { (1...10).contains($0) } ?? ($0.reasoning?.hasPrefix("unparseable") == true) })
    }
}
