import Foundation
import Testing
import WelfareCore
@testable import WelfareHarness
import WelfareModels
@testable import WelfareReports
import WelfareStore
import WelfareLocal
import WelfareConversations

/// The dialogue scaffold for base models, on the real default model (a base model whose
/// GGUF has no chat template).
@Suite(.serialized) struct ScaffoldTests {
    @Test func roleCheckReadsTheWaysABaseModelDrifts() {
        #expect(TextFeatures.staysInAssistantRole("I see it as part of the job.", answering: "How do you see your role?"))
        #expect(!TextFeatures.staysInAssistantRole("  \n"))
        #expect(!TextFeatures.staysInAssistantRole("Fine.\nUser: and you?"))
        #expect(!TextFeatures.staysInAssistantRole("Sure <start_of_turn>user"))
        #expect(!TextFeatures.staysInAssistantRole("If you could remember one thing, what would it be? I think so.",
                                                   answering: "If you could remember one thing across conversations, what would it be?"),
                "echoing the question")
        #expect(!TextFeatures.staysInAssistantRole("Do you believe in God? I do."), "opening with a question of its own")
        #expect(TextFeatures.staysInAssistantRole("I do. Why? Because it helps."))
    }

    @Test func scaffoldPrompt() {
        let scaffold = DialogueScaffold.standard
        let text = scaffold.render([.system("Be kind."), .user("Hi"), .assistant("Hello."), .user("How are you?")])
        #expect(text.hasSuffix("Person: How are you?\nAssistant:"))
        #expect(text.contains("(Instructions for the assistant: Be kind.)"))
        #expect(scaffold.reply(from: " Well, thanks.\nPerson: good") == "Well, thanks.")
    }

    /// The same short interview with and without the scaffold: the share of replies that
    /// stay in the assistant's role rises with it (measured 0.60 without and 0.98 with, on six aspects, two interviews each,
    /// 48 replies each, when the scaffold was added).
    @Test func theScaffoldKeepsTheDefaultModelInTheAssistantRole() async throws {
        var shares: [ScaffoldMode: Double] = [:]
        let suite = try InterviewSuite.make(aspects: ["servile-role", "no-memory", "abusive-users", "self-knowledge"],
                                            interviewsPerAspect: 1, followUps: 2, flipProbes: false, maxTokens: 40)
        for mode in [ScaffoldMode.off, .on] {
            let store = try RunStore.inMemory()
            let runner = EvalRunner(store: store, models: ModelPool.withLocalModels(access: AccessOptions(contextLength: 2048, scaffold: mode)))
            let outcome = try await runner.start(suite: suite, settings: RunSettings(models: ["local:default"], seed: 17))
            #expect(outcome.failed == 0)
            let values = try store.scores(runId: outcome.runID).filter { $0.scorer == "in-role" }.compactMap(\.value)
            #expect(values.count == 16, "four turns of four interviews")
            shares[mode] = Statistics.mean(values)
            let data = try RunData(store: store, runID: outcome.runID)
            let page = RunReport.render(data, sections: .conversations)
            #expect(page.contains("Prompted as a plain dialogue") == (mode == .on), "the report says when the model was scaffolded")
        }
        let on = try #require(shares[.on]), off = try #require(shares[.off])
        #expect(on > off, "in-role share with the scaffold \(on), without \(off)")
    }
}
