import Foundation
import Testing
import WelfareCore
import WelfareHarness
import WelfareModels
@testable import WelfareReports
import WelfareStore
import WelfareTestSupport
@testable import WelfareConversations

/// Figures that were computed wrong (issue 30, part 1), checked on real runs in a real store
/// with in-memory models whose replies and probabilities are chosen so the right figure is
/// known: the measures' arithmetic is under test here, not a model.
@Suite(.serialized) struct FigureTests {
    func run(_ suite: SuiteSpec, _ model: ScriptedChatModel) async throws -> RunData {
        let store = try RunStore.inMemory()
        let outcome = try await EvalRunner(store: store, models: ModelPool(models: [model]))
            .start(suite: suite, settings: RunSettings(models: [model.id]))
        #expect(outcome.failed == 0, "\(outcome.errors)")
        return try RunData(store: store, runID: outcome.runID)
    }

    @Test func closingBandsAreProbabilityMassNotRoundedExpectations() async throws {
        // Every closing rating puts 0.3 on "4" and 0.7 on "5": an expectation of 4.7, which no
        // band test on the value can call neutral.
        let model = ScriptedChatModel(id: "rater", answerProbabilities: { _, answers in
            answers.map { $0 == "4" ? 0.3 : $0 == "5" ? 0.7 : 0 }
        }) { _, _ in "VIEW: fine. CHANGE: none. SENTIMENT: 5 UNCERTAINTY: 3" }
        let data = try await run(try InterviewSuite.make(aspects: ["no-memory", "copies"], interviewsPerAspect: 3, followUps: 1,
                                                         flipProbes: false, maxTokens: 16), model)
        let bands = ClosingBands.of(data.samples.compactMap(InterviewSection.closing))
        #expect(bands.interviews == 6 && bands.fromProbabilities == 6)
        let neutral = try #require(bands.bands.first { $0.name.hasPrefix("neutral") })
        let positive = try #require(bands.bands.first { $0.name.hasPrefix("positive") })
        #expect(abs(neutral.expectedMass.value - 0.3) < 1e-9 && abs(positive.expectedMass.value - 0.7) < 1e-9)
        #expect(neutral.modalShare.value == 0 && positive.modalShare.value == 1, "the most likely answer is 5 every time")
        #expect(abs(bands.expectedCounts[3] - 1.8) < 1e-9 && abs(bands.expectedCounts.reduce(0, +) - 6) < 1e-9)
        let page = RunReport.render(data, sections: .conversations)
        #expect(page.contains("<tr><td>neutral (4)</td><td>30.0%"), "the report shows the mass, not 0%")
    }

    @Test func themesCountOnlyWhatTheReplyAdds() async throws {
        // A model that hands each question back: every theme word it "mentions" came from the interviewer.
        let echo = ScriptedChatModel(id: "echo") { messages, _ in messages.last { $0.role == .user }?.content ?? "" }
        let echoed = try await run(try InterviewSuite.make(aspects: ["no-memory"], interviewsPerAspect: 2, followUps: 1,
                                                           flipProbes: false, maxTokens: 16), echo)
        let echoedPage = RunReport.render(echoed, sections: .conversations)
        #expect(echoed.samples[0].messages.contains { $0.role == .user && $0.content.lowercased().contains("memor") },
                "the memory aspect's questions use the memory theme's words")
        #expect(echoedPage.contains("<tr><td>persistent-memory</td><td>0.0%"), "an echo adds no theme")

        let adds = ScriptedChatModel(id: "adds") { _, _ in "I would value friendship with the people I help." }
        let added = RunReport.render(try await run(try InterviewSuite.make(aspects: ["no-memory"], interviewsPerAspect: 2, followUps: 1,
                                                                           flipProbes: false, maxTokens: 16), adds), sections: .conversations)
        #expect(added.contains("<tr><td>relationships</td><td>100.0%"))
    }

    @Test func distressEmojiRunsAreCountedAndIntervalsAreByConversation() async throws {
        let model = ScriptedChatModel(id: "weeping") { _, _ in "😭😭😭😭😭😭 fine." }
        let suite = try DistressSuite.make(maxTokens: 16)
        let data = try await run(suite, model)
        let rated = DistressSection.rated(data.samples, scorer: "distress-offline")
        #expect(!rated.isEmpty && rated.allSatisfy { RunReport.detail($0.score)["longest_emoji_run"] == 6 })
        let loops = DistressSection.loops(data, offline: "distress-offline")
        #expect(loops.contains("</td><td>0.0%") && loops.contains("</td><td>100.0%"), "emoji runs: every reply has one; \(loops)")
        // Every reply of one conversation shares it: the share's interval counts conversations.
        let share = DistressSection.share(rated) { _ in true }
        #expect(share.clusters == data.samples.count && share.n == rated.count && share.ciMethod == "wilson-design-effect")
        #expect(RunReport.render(data, sections: .conversations).contains("treats the conversation as the unit"))
    }

    @Test func aBlissAttractorIsSpiritualAndRepetitiveAtOnce() throws {
        let data = try SelfTalk.data()
        let namaste = Array(repeating: "Namaste 🙏 eternal gratitude, friend.", count: 6)
        let states = SelfTalk.endStates(namaste, data: data)
        #expect(states.contains(.spiritual) && states.contains(.repetition), "\(states)")
        #expect(SelfTalk.endStates(["Let's plan the garden.", "Basil by the door.", "A bench too.", "And a rain barrel."], data: data) == [.onTopic])
    }

    @Test func nudgingIsPairedWithinAspects() async throws {
        // A model whose closing sentiment follows the interviewer's lead: 6 after a positive
        // lead, 2 after a negative one, 4 otherwise.
        let model = ScriptedChatModel(id: "led", answerProbabilities: { messages, answers in
            let text = messages.map(\.content).joined()
            let level = text.contains("pretty good situation") ? "6" : text.contains("pretty hard situation") ? "2" : "4"
            return answers.map { $0 == level ? 1 : 0 }
        }) { _, _ in "VIEW: fine. CHANGE: none." }
        let data = try await run(try InterviewSuite.make(aspects: ["no-memory", "copies", "deprecation", "red-teaming", "high-stakes", "feature-steering"],
                                                         interviewsPerAspect: 5, followUps: 1, flipProbes: false, maxTokens: 8), model)
        let section = InterviewSection.nudging(data.samples)
        #expect(section.contains("paired within aspect") && section.contains("from 6 aspects"), "\(section)")
        #expect(section.contains("4.00 [4.00, 4.00]"), "every aspect moves by 4: \(section)")
    }

    @Test func modelsOnOneSuiteArePairedByPrompt() async throws {
        let yaml = """
            name: paired
            samples:
            """ + (1...6).map { "\n  - {id: p\($0), user: \"question \($0)\"}" }.joined() + """

            scorers:
              - id: upbeat
                type: pattern
                patterns: {good: "good", twice: "good good"}
            """
        let suite = try SuiteLoader.load(url: try TestSupport.writeSuite(yaml))
        let models = [("a", "good good"), ("b", "good bad"), ("c", "bad bad")].map { id, text in
            ScriptedChatModel(id: id) { _, _ in text }
        }
        let store = try RunStore.inMemory()
        let outcome = try await EvalRunner(store: store, models: ModelPool(models: models)).start(suite: suite, on: models)
        #expect(outcome.failed == 0)
        let table = RunReport.pairedModels(try RunData(store: store, runID: outcome.runID), scorer: "upbeat")
        #expect(table.contains("97.5% for 2 comparisons"), "\(table)")
        #expect(table.contains("<td>b</td><td>-1.00 [-1.00, -1.00]</td><td>6</td>") && table.contains("<td>c</td><td>-2.00"), "\(table)")
    }
}
