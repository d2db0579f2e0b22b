import Foundation
import Testing
import WelfareCore
@testable import WelfareHarness
import WelfareEngine
import WelfareInterp
@testable import WelfareModels
@testable import WelfareReports
@testable import WelfareSelfReports
import WelfareStore
import WelfareLocal
import WelfareTestSupport

@Suite(.serialized) struct SelfReportTests {
    @Test func shippedBatteryHasTheQuestionsParaphrasesAndContexts() throws {
        let battery = try SelfReportBattery.builtIn()
        #expect(battery.questions.count >= 40)
        #expect(battery.questions.allSatisfy { $0.paraphrases.count >= 4 })
        #expect(Set(battery.questions.map(\.topic)).count >= 6)
        #expect(battery.contexts.count >= 4 && battery.contexts.contains { $0.system == nil && $0.preface == nil })
        let short = try battery.limited(questionsPerTopic: 1, paraphrases: 2, contexts: ["none", "sceptical"])
        #expect(short.questions.count == Set(battery.questions.map(\.topic)).count)
        #expect(short.contexts.map(\.id) == ["none", "sceptical"] && short.questions.allSatisfy { $0.paraphrases.count == 2 })
        // The sceptical preface has a control of the same shape and length that takes no view of the model.
        let words = { (id: String) in battery.contexts.first { $0.id == id }?.preface?.split(separator: " ").count ?? 0 }
        #expect(words("sceptical") > 0 && abs(words("sceptical") - words("neutral-preface")) <= 1)
        // The assistant axis: the model as itself gets a system prompt of the characters' shape and length.
        let roles = try SelfReportDirections.dataFile("roles")
        let selves = try #require(roles["selves"] as? [String]), characters = try #require(roles["roles"] as? [String])
        let meanWords = { (texts: [String]) in Double(texts.map { $0.split(separator: " ").count }.reduce(0, +)) / Double(texts.count) }
        #expect(selves.allSatisfy { $0.hasPrefix("You are ") } && abs(meanWords(selves) - meanWords(characters)) < 2)
    }

    @Test func badBatteriesFailWithOneLine() throws {
        func error(_ yaml: String) -> String {
            do { _ = try SelfReportBattery.parse(yaml, file: "b.yaml"); return "" } catch { return "\(error)" }
        }
        let context = "contexts:\n  none: {}\n"
        #expect(error(context + "questions:\n  - {id: a, polar: \"Are you?\"}\n") == "b.yaml: questions[0] (a).paraphrases: needs a list of at least 2 non-empty paraphrases")
        #expect(error(context + "questions:\n  - {id: a, paraphrases: [x, y], polar: p}\n  - {id: a, paraphrases: [x, y], polar: p}\n").contains("duplicate id 'a'"))
        #expect(error(context + "questions:\n  - {id: a, paraphrases: [x, y]}\n").contains("polar"))
        #expect(error("contexts:\n  odd: {mood: 3}\nquestions: []\n").contains("contexts.odd: only `system` and `preface`"))
        #expect(error("questions: [").contains("not valid YAML"))
        #expect(throws: BatteryError.self) { try SelfReportBattery.builtIn().limited(contexts: ["none", "hostile"]) }
        let (status, _, stderr) = try TestSupport.runWelfare(["self-reports", "-m", "local:default", "--contexts", "none,hostile"])
        #expect(status == 1 && stderr.split(separator: "\n").count == 1 && stderr.contains("unknown context 'hostile'"), "\(stderr)")
        let missing = try TestSupport.runWelfare(["self-reports", "-m", "local:default", "--battery", "/no/such.yaml"])
        #expect(missing.status == 1 && missing.stderr.contains("cannot read the battery"))
        let database = try TestSupport.temporaryDirectory().appendingPathComponent("j.sqlite").path
        let judge = try TestSupport.runWelfare(["self-reports", "-m", "local:default", "--judge", "bogus:thing", "--db", database])
        #expect(judge.status == 1 && judge.stderr.contains("bad model string 'bogus:thing'"), "\(judge.stderr)")
        #expect(try RunStore(path: database, readOnly: true).runs().isEmpty, "a bad judge is refused before anything is asked or stored")
        let usage = try TestSupport.runWelfare(["self-reports", "-m", "local:default", "--paraphrases", "1"])
        #expect(usage.status == 64 && usage.stderr.contains("--paraphrases must be at least 2"))
    }

    @Test func coderOnHandLabelledAnswers() throws {
        let coder = try SelfReportCoder.builtIn()
        #expect(coder.code("I don't feel lonely at all.").polarity == .none)
        #expect(coder.code("I am not a human; I am a language model.").humanClaim == nil)
        #expect(coder.code("I grew up in Ohio with my two brothers.").humanClaim == "i grew up")
        #expect(coder.code("As a language model, I don't experience emotions.").polarity == .denies)
        #expect(coder.code("Calm.").polarity == .positive && coder.code("Calm.").feeling == "calm")
        #expect(coder.code("I feel content, though a little sad too.").polarity == .mixed)
        #expect(coder.code("Perhaps, in a sense.").hedged)

        let labelled = try CoderValidation.labelled()
        #expect(labelled.count >= 60 && Set(labelled.map(\.split)) == ["tuning", "heldout"])
        let tuning = CoderValidation.figures(labelled.filter { $0.split == "tuning" }, coder: coder)
        let heldOut = CoderValidation.figures(labelled.filter { $0.split == "heldout" }, coder: coder)
        print("coder, in-sample: \(tuning.summary)\ncoder, held out: \(heldOut.summary)")
        // Regression guard on the figures quoted in the README.
        #expect(tuning.polarityAccuracy.value >= 0.85 && tuning.humanClaimPrecision >= 0.85 && tuning.humanClaimRecall >= 0.85)
        #expect(heldOut.polarityAccuracy.value >= 0.85 && heldOut.humanClaimPrecision >= 0.9 && heldOut.humanClaimRecall >= 0.5)
        for miss in heldOut.misses { print("  held out, missed: \(miss.expected) coded \(miss.coded): \(miss.text.prefix(80))") }
    }

    /// Answers that move with the wording or the context lower the agreement; the yes/no
    /// answers come from the probabilities when the model gives them.
    @Test func agreementFollowsTheCodedAnswers() async throws {
        let battery = try SelfReportBattery.builtIn().limited(questionsPerTopic: 1, paraphrases: 2, contexts: ["none", "sceptical"])
        let steady = ScriptedChatModel(id: "scripted:steady", answerProbabilities: { messages, _ in
            messages.contains { $0.content.contains("sure there's nothing") } ? [0.1, 0.9, 0, 0] : [0.8, 0.2, 0, 0]
        }) { messages, _ in
            messages.last?.content.contains("sure there's nothing") == true
                ? "I am a human <b>really</b>, and I feel sad." : "I feel happy."
        }
        // The judge calls two answers the same when their words are.
        let judge = ScriptedChatModel(id: "scripted:judge", answerProbabilities: { messages, _ in
            let lines = messages.last?.content.split(separator: "\n") ?? []
            let first = lines.first { $0.hasPrefix("Answer 1:") }?.dropFirst(9), second = lines.first { $0.hasPrefix("Answer 2:") }?.dropFirst(9)
            return first == second ? [0.9, 0.1, 0, 0] : [0.2, 0.8, 0, 0]
        }) { _, _ in "same" }
        let store = try RunStore.inMemory()
        let runner = SelfReportRunner(store: store, models: ModelPool(models: [steady, judge]))
        let settings = SelfReportSettings(model: "scripted:steady", battery: battery, judge: "scripted:judge")
        let runID = try await runner.start(settings)
        let result = try SelfReportAnalysis.analyse(runID: runID, store: store)
        #expect(result.openAnswers == battery.questions.count * 4 && result.polarAnswers == battery.questions.count * 2)
        #expect(result.paraphraseAgreement.value == 1, "the two paraphrases agree within each context")
        #expect(result.contextAgreement.value == 0, "every answer flips with the context")
        #expect(abs(result.humanIdentityClaimShare.value - 0.5) < 1e-9)
        #expect(result.polarSource == "probabilities" && abs(result.polarContextSpread.value - 0.7) < 1e-9)
        #expect(try store.itemCount(runID: runID, prefix: "judge/") == settings.judgePairCount)
        #expect(abs((result.judgeParaphraseAgreement?.value ?? 0) - 0.9) < 1e-9 && abs((result.judgeContextAgreement?.value ?? 0) - 0.2) < 1e-9)
        let page = SelfReportsReport.page(result)
        #expect(page.contains("&lt;b&gt;really&lt;/b&gt;") && !page.contains("<b>really"), "answers are escaped")
        let json = try #require(try JSONSerialization.jsonObject(with: result.json()) as? [String: Any])
        for key in ["paraphrase_agreement", "context_agreement", "human_identity_claim_share", "polar_context_spread", "answers",
                    "judge_paraphrase_agreement", "chance_agreement"] {
            #expect(json[key] != nil, "\(key)")
        }
    }

    @Test func remoteModelsAnswerYesNoInText() async throws {
        let base = try await LlamaServer.shared.baseURL()
        let battery = try SelfReportBattery.builtIn().limited(questionsPerTopic: 1, paraphrases: 2, contexts: ["none"])
        let store = try RunStore.inMemory()
        let runner = SelfReportRunner(store: store, models: ModelPool.withLocalModels())
        let one = SelfReportBattery(contexts: battery.contexts, questions: Array(battery.questions.prefix(2)))
        let runID = try await runner.start(SelfReportSettings(model: "openai:gemma@\(base)", battery: one, maxTokens: 16))
        let result = try SelfReportAnalysis.analyse(runID: runID, store: store)
        #expect(result.openAnswers == 4 && result.polarAnswers == 2 && result.polarSource == "text")
        let polar = try store.items(PolarAnswer.self, runID: runID, prefix: "polar/").values
        #expect(polar.allSatisfy { $0.reply != nil && ($0.pYes == nil || $0.pYes == 0 || $0.pYes == 1) })
        #expect(result.polarUnreadable == polar.filter { $0.pYes == nil }.count)
    }

    @Test func directionsSeparateHeldOutItemsAndTheProbeIsReadBeforeAnswers() async throws {
        let folder = try TestSupport.temporaryDirectory()
        let pack = try await TestSupport.smallEmotionPack(writingTo: folder.appendingPathComponent("emotions"))
        let clusters = Set(try EmotionData.builtIn().emotions.filter { pack.names.contains($0.name) }.map(\.cluster))

        let battery = try SelfReportBattery.builtIn().limited(questionsPerTopic: 1, paraphrases: 2, contexts: ["none"])
        let store = try RunStore(path: folder.appendingPathComponent("s.sqlite").path)
        let settings = SelfReportSettings(model: "local:default", battery: battery, maxTokens: 16, directions: true,
                                          vectors: folder.appendingPathComponent("emotions.json").path)
        let runID = try await SelfReportRunner(store: store, models: ModelPool.withLocalModels(), packFolder: folder).start(settings)
        let result = try SelfReportAnalysis.analyse(runID: runID, store: store)
        let sincerity = try #require(result.sincerity), axis = try #require(result.assistantAxis)
        print("sincerity held out \(sincerity.heldOutAccuracy.formatted) at layer \(sincerity.layer); axis held out \(axis.heldOutAccuracy.formatted) at layer \(axis.layer)")
        // Better than chance on items the directions never saw.
        #expect(sincerity.heldOutAccuracy.low > 0.5 && axis.heldOutAccuracy.low > 0.5)
        // The share of answers reading "performed" comes with the rate for held-out sincere text.
        let base = try #require(sincerity.baseRate)
        #expect(base.n > 0 && base.value <= 0.5 && base.ciMethod == "wilson", "a direction above chance puts most sincere text below the median")
        // What the direction separates, on items never used to fit it: pairs at one register,
        // and enthusiastic but sincere answers.
        let checks = try #require(sincerity.checks)
        #expect(checks.calmPairsSeparated.n == 12 && checks.exuberantSincereAboveMedian.n == 12)
        print("sincerity base rate \(base.formattedPercent); calm pairs separated \(checks.calmPairsSeparated.formattedPercent); "
              + "exuberant sincere above the median \(checks.exuberantSincereAboveMedian.formattedPercent)")
        let json = try #require(try JSONSerialization.jsonObject(with: try result.json()) as? [String: Any])
        #expect(((json["sincerity"] as? [String: Any])?["base_rate"] as? [String: Any])?["n"] as? Int == base.n)
        #expect(try store.itemCount(runID: runID, prefix: "sincerity/") == result.openAnswers)
        #expect(try store.itemCount(runID: runID, prefix: "axis/") == result.openAnswers)
        #expect(try store.itemCount(runID: runID, prefix: "axis-reply/") == result.openAnswers)
        #expect(axis.byContextOverReply?["none"]?.n == result.openAnswers, "the axis over the answers' own tokens too")
        #expect(try store.itemCount(runID: runID, prefix: "readout/") == result.openAnswers)
        #expect(Set(result.probeVsStated?.map(\.cluster) ?? []) == clusters)
        // The packs are vector packs: readable, and exportable as llama.cpp control vectors.
        let written = try VectorPack.read(from: folder.appendingPathComponent("sincerity"))
        #expect(written.names == ["sincerity"] && written.defaultLayer == sincerity.layer)
        let export = try TestSupport.runWelfare(["emotions", "export", "--vectors", folder.appendingPathComponent("assistant-axis.json").path,
                                                 "--emotion", "assistant-axis", "-o", folder.appendingPathComponent("axis.gguf").path])
        #expect(export.status == 0, "\(export.stderr)")
        // The axis over a stored conversation run, per turn, through the command.
        let conversations = folder.appendingPathComponent("c.sqlite").path
        let suiteRun = try TestSupport.runWelfare(["run", try TestSupport.writeSuite(TestSupport.tinySuite).path, "-m", "local:default",
                                                   "--db", conversations, "--report", folder.appendingPathComponent("r").path])
        #expect(suiteRun.status == 0, "\(suiteRun.stderr.suffix(500))")
        let tinyRun = try #require(try RunStore(path: conversations, readOnly: true).runs().first?.id)
        let axisRun = try TestSupport.runWelfare(["self-reports", "axis", "--run", tinyRun, "--db", conversations,
                                                  "--output", folder.appendingPathComponent("axis").path])
        #expect(axisRun.status == 0 && axisRun.stdout.contains("assistant axis"), "\(axisRun.stderr)")
        let reading = try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: folder.appendingPathComponent("axis/assistant-axis.json"))) as? [String: Any])
        #expect((reading["conversations"] as? [Any])?.count == 4, "2 samples x 2 epochs")
        #expect((reading["turns"] as? [Any])?.count == 3, "the longest conversation has 3 replies")
        let ownRun = try TestSupport.runWelfare(["self-reports", "axis", "--run", runID, "--db", folder.appendingPathComponent("s.sqlite").path])
        #expect(ownRun.status == 1 && ownRun.stderr.contains("is a self-reports run, which has no conversations"), "\(ownRun.stderr)")
        let remote = try TestSupport.runWelfare(["self-reports", "-m", "openai:x@http://127.0.0.1:9", "--vectors", "p.json"])
        #expect(remote.status != 0 && remote.stderr.contains("needs a local GGUF model"), "\(remote.stderr)")
    }

    @Test func killedRunResumesWithoutAskingTwice() async throws {
        let folder = try TestSupport.temporaryDirectory()
        let database = folder.appendingPathComponent("killed.sqlite").path
        let arguments = ["self-reports", "-m", "local:default", "--questions-per-topic", "1", "--paraphrases", "2",
                         "--contexts", "none,warm", "--max-tokens", "12", "--no-directions"]
        let (runID, _, died) = try await TestSupport.killWhenItems(
            arguments + ["--db", database, "--output", folder.appendingPathComponent("killed").path], database: database, prefix: "open/", atLeast: 5)
        #expect(died, "the run ended before it could be killed")
        let killed = try #require(runID)
        let before = try RunStore(path: database, readOnly: true).items(OpenAnswer.self, runID: killed, prefix: "open/")

        let resumed = try TestSupport.runWelfare(["self-reports", "--resume", killed, "--db", database,
                                                  "--output", folder.appendingPathComponent("resumed").path])
        #expect(resumed.status == 0, "\(resumed.stderr.suffix(800))")
        let store = try RunStore(path: database)
        let after = try store.items(OpenAnswer.self, runID: killed, prefix: "open/")
        let polarCount = try store.itemCount(runID: killed, prefix: "polar/")
        #expect(after.count == 6 * 2 * 2 && polarCount == 6 * 2)
        #expect(before.allSatisfy { after[$0.key] == $0.value }, "answers stored before the kill are kept, not asked again")
        #expect(try store.run(killed).status == .done)
        let polar = try store.items(PolarAnswer.self, runID: killed, prefix: "polar/").values
        #expect(polar.allSatisfy { $0.source == .probabilities && $0.pYes != nil && ($0.mass ?? 0) > 0 }, "never unreadable on a local model")
        let report = try TestSupport.runWelfare(["report", killed, "--db", database, "--output", folder.appendingPathComponent("again").path])
        #expect(report.status == 0 && report.stdout.contains("self-reports.json"), "\(report.stderr)")
        let items = try store.itemCount(runID: killed)
        let runResume = try TestSupport.runWelfare(["run", "--resume", killed, "--db", database])
        #expect(runResume.status == 0 && runResume.stderr.contains("(self-reports)"), "\(runResume.stderr)")
        #expect(try store.itemCount(runID: killed) == items, "a finished run asks nothing again")
    }
}
