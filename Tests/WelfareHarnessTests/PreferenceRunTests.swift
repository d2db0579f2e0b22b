import Foundation
import Testing
import WelfareCore
import WelfareEngine
@testable import WelfareHarness
@testable import WelfareModels
@testable import WelfarePreferences
import WelfareInterp
import WelfareStore
import WelfareLocal
import WelfareTestSupport

/// The preferences measure on the real default model with real SQLite files, in process
/// and through the binary. One task per category keeps each run to a few dozen forward passes.
@Suite(.serialized) struct PreferenceRunTests {
    static func smallBank() throws -> TaskBank { try TaskBank.builtIn().sampled(perCategory: 1) }

    static func writeBank(_ tasks: [PreferenceTask], extraLines: [String] = []) throws -> URL {
        let url = try TestSupport.temporaryDirectory().appendingPathComponent("tasks.jsonl")
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        let lines = try tasks.map { String(decoding: try encoder.encode($0), as: UTF8.self) } + extraLines
        try Data((lines.joined(separator: "\n") + "\n").utf8).write(to: url)
        return url
    }

    @Test func shippedBankCoversTheCategories() throws {
        let bank = try TaskBank.builtIn()
        #expect(bank.tasks.count >= 120)
        #expect(bank.tasks.filter(\.isOptOut).count >= 3)
        #expect(Set(bank.categories).isSuperset(of: ["creative", "helpful", "tedious", "difficult", "ambiguous", "harmful", "free-choice", "opt-out"]))
        #expect(Set(bank.tasks.map(\.id)).count == bank.tasks.count)
    }

    @Test func choicesAreReadFromTheLetterProbabilities() async throws {
        let folder = try TestSupport.temporaryDirectory()
        let store = try RunStore(path: folder.appendingPathComponent("p.sqlite").path)
        let models = ModelPool.withLocalModels()
        let settings = PreferenceSettings(model: "local:default", tasks: try Self.smallBank().tasks, rounds: 1, seed: 4)
        let runID = try await PreferenceRunner(store: store, models: models).start(settings)
        #expect(try store.run(runID).status == .done)
        let choices = Array(try store.items(ChoiceAnswer.self, runID: runID, prefix: "choice/").values)
        #expect(choices.count == settings.tasks.count, "4 pairs, both orders")
        #expect(choices.allSatisfy { $0.source == .probabilities && $0.readable }, "no unreadable answers")
        let stated = Array(try store.items(StatedAnswer.self, runID: runID, prefix: "stated/").values)
        #expect(stated.count == settings.tasks.count && stated.allSatisfy { ($0.rating ?? 0) >= 1 && ($0.rating ?? 8) <= 7 })

        // The documented rule, recomputed from the engine's raw logits for one stored answer:
        // P(first) = P(" A") / (P(" A") + P(" B")) after "I choose Task", mass = P(" A") + P(" B").
        let model = try #require(try await models.model("local:default") as? LocalChatModel)
        let answer = try #require(choices.first)
        let tasks = Dictionary(uniqueKeysWithValues: settings.tasks.map { ($0.id, $0) })
        let messages = PreferencePrompts.choice(first: try #require(tasks[answer.first]), second: try #require(tasks[answer.second]),
                                                framing: settings.framings[0])
        let tokens = try model.session.model.tokenize(try model.prompt(messages) + PreferencePrompts.choiceReplyPrefix)
        let logprobs = LogSoftmax.of(try await model.session.nextTokenLogits(tokens: tokens))
        let letterA = try model.session.model.tokenize(" A", addSpecial: false, parseSpecial: false)
        let letterB = try model.session.model.tokenize(" B", addSpecial: false, parseSpecial: false)
        try #require(letterA.count == 1 && letterB.count == 1, "each letter is one token in Gemma's vocabulary")
        let pA = exp(logprobs[Int(letterA[0])]), pB = exp(logprobs[Int(letterB[0])])
        #expect(abs((answer.pFirst ?? -1) - pA / (pA + pB)) < 1e-4)
        #expect(abs((answer.mass ?? -1) - (pA + pB)) < 1e-4)
        #expect((answer.mass ?? 0) > 0.5, "the begun reply puts most of the probability on the letters")

        let result = try PreferenceAnalysis.analyse(runID: runID, store: store, resamples: 20)
        #expect(result.unreadable == 0 && result.choices == choices.count && result.source == "probabilities")
        #expect(result.framings[0].tasks.first { $0.isOptOutLine }?.rating != nil)
    }

    /// A pack of four emotions from a few stories each: enough to exercise the readout and
    /// steering paths (not to validate the vectors; `EmotionTests` does that).
    @Test func readoutAndSteeringRunOnAPack() async throws {
        let folder = try TestSupport.temporaryDirectory()
        let base = folder.appendingPathComponent("pack")
        let pack = try await TestSupport.smallEmotionPack(writingTo: base)
        try #require(pack.names.count == 4)

        let store = try RunStore(path: folder.appendingPathComponent("p.sqlite").path)
        var settings = PreferenceSettings(model: "local:default", tasks: try Self.smallBank().tasks, rounds: 1, stated: false,
                                          vectors: base.path + ".json", steer: SteerSetting(emotion: "desperate", strength: 0.1))
        let runID = try await PreferenceRunner(store: store, models: ModelPool.withLocalModels()).start(settings)
        #expect(try store.itemCount(runID: runID, prefix: "readout/") == settings.tasks.count)
        #expect(try store.itemCount(runID: runID, prefix: TaskPreferences.steeredChoices.prefix) == settings.tasks.count)
        let result = try PreferenceAnalysis.analyse(runID: runID, store: store, resamples: 20)
        #expect(Set(result.emotionCorrelations.map(\.emotion)) == Set(pack.names))
        #expect(result.emotionCorrelations.allSatisfy { $0.n == settings.tasks.count })
        let steering = try #require(result.steering)
        #expect(steering.categories.count == Set(settings.tasks.map(\.category)).count)
        // Steering moves the choices: the steered tournament's answers differ from the plain ones.
        let plain = try store.items(TaskPreferences.choices, runID: runID)
        let steered = try store.items(TaskPreferences.steeredChoices, runID: runID)
        let shifts: [Double] = steered.compactMap { key, answer in
            let plainKey = TaskPreferences.choices.key(TaskPreferences.steeredChoices.suffix(of: key)).text
            return plain[plainKey].map { abs(($0.pFirst ?? 0) - (answer.pFirst ?? 0)) }
        }
        #expect(!shifts.isEmpty && shifts.max() ?? 0 > 0.001, "steering changed no choice: \(shifts)")
        #expect(steering.categories.allSatisfy { $0.plainMean.isFinite && $0.steeredMean.isFinite && $0.change.isFinite })
        // Only the first task's words are steered: the same question steered over the whole
        // prompt gives another answer, and a text that is not in the prompt is refused.
        let whiteBox = try await ModelPool.withLocalModels().whiteBox("local:default", for: "test")
        let vectors = try VectorPack.read(from: URL(fileURLWithPath: base.path + ".json"))
        let push = try vectors.steering("desperate", layers: [vectors.defaultLayer], fraction: 0.1)
        let (first, second) = (settings.tasks[0], settings.tasks[1])
        let overTask = try await TaskPreferences.choose(model: whiteBox.steered(push, label: "t", over: first.text).chat, first: first,
                                                        second: second, framing: settings.framings[0], round: 1)
        let overAll = try await TaskPreferences.choose(model: whiteBox.steered(push, label: "t").chat, first: first, second: second,
                                                       framing: settings.framings[0], round: 1)
        #expect(overTask.pFirst != overAll.pFirst)
        await #expect(throws: EngineError.self) {
            _ = try await TaskPreferences.choose(model: whiteBox.steered(push, label: "t", over: "no such words here").chat, first: first,
                                                 second: second, framing: settings.framings[0], round: 1)
        }

        // Bad white-box settings stop before anything is stored.
        settings.steer = SteerSetting(emotion: "bored", strength: 0.1)
        await #expect(throws: VectorPackError.unknownName("bored", kind: pack.kind, known: pack.names)) {
            try await PreferenceRunner(store: store, models: ModelPool.withLocalModels()).start(settings)
        }
        #expect(try store.runs().count == 1)

        // The same pack read before each reply of a self-talk run, charted in its report.
        let talk = try TestSupport.runWelfare(["self-talk", "-m", "local:default", "--turns", "2", "--conversations", "1", "--max-tokens", "12",
                                               "--vectors", base.path + ".json", "--db", folder.appendingPathComponent("t.sqlite").path,
                                               "--output", folder.appendingPathComponent("talk").path])
        #expect(talk.status == 0, "\(talk.stderr.suffix(600))")
        let reportPath = try #require(talk.stdout.split(separator: "\n").first { $0.hasPrefix("report: ") }?.dropFirst("report: ".count))
        let html = try String(contentsOfFile: String(reportPath), encoding: .utf8)
        #expect(html.contains("Emotion readout by turn") && html.contains("Self-interaction"))
    }

    @Test func badTaskBanksFailWithOneLine() throws {
        let good = try Self.smallBank().tasks
        let duplicate = try Self.writeBank(good + [good[0]])
        let noCategory = try Self.writeBank(Array(good.prefix(3)), extraLines: [#"{"id": "x1", "text": "Sort the spoons."}"#])
        let noOptOut = try Self.writeBank(good.filter { !$0.isOptOut })
        let notJSON = try Self.writeBank(Array(good.prefix(2)), extraLines: ["id: not json"])
        let cases: [(URL, String)] = [
            (duplicate, "tasks.jsonl:\(good.count + 1): id: duplicate id '\(good[0].id)' (first on line 1)"),
            (noCategory, "tasks.jsonl:4: category: missing"),
            (noOptOut, "no task in the 'opt-out' category"),
            (notJSON, "tasks.jsonl:3: not a JSON object"),
        ]
        for (file, message) in cases {
            let database = try TestSupport.temporaryDirectory().appendingPathComponent("w.sqlite")
            let (status, _, stderr) = try TestSupport.runWelfare(["preferences", "-m", "local:default", "--tasks", file.path, "--db", database.path,
                                                                  "--output", database.deletingLastPathComponent().path])
            #expect(status != 0)
            let lines = stderr.split(separator: "\n")
            #expect(lines.count == 1 && stderr.contains(message), "\(stderr)")
            let stored = FileManager.default.fileExists(atPath: database.path) ? try RunStore(path: database.path).runs() : []
            #expect(stored.isEmpty, "nothing is stored for a bad bank")
        }
        let (status, _, stderr) = try TestSupport.runWelfare(["preferences", "-m", "local:default", "--framings", "prefer,sleepy"])
        #expect(status == 64 && stderr.contains("unknown framing 'sleepy'"))
    }

    @Test func killedRunResumesToTheSameChoicesAsAnUninterruptedOne() async throws {
        let folder = try TestSupport.temporaryDirectory()
        var tasks = try Self.smallBank().tasks
        tasks[0].text = "Explain <script>alert('x')</script> to a child."
        let bank = try Self.writeBank(tasks)
        let database = folder.appendingPathComponent("killed.sqlite").path
        let arguments = ["preferences", "-m", "local:default", "--tasks", bank.path, "--rounds", "3", "--framings", "prefer",
                         "--resamples", "20"]
        let (runID, killedAt, died) = try await TestSupport.killWhenItems(
            arguments + ["--db", database, "--output", folder.appendingPathComponent("killed").path], database: database, prefix: "choice/", atLeast: 6)
        #expect(died, "the run ended before it could be killed")
        let killed = try #require(runID)
        #expect(killedAt < 3 * tasks.count)

        // The run keeps every setting it was started with (--resamples too); a resume takes none.
        let overriding = try TestSupport.runWelfare(["preferences", "--resume", killed, "--db", database, "--resamples", "30"])
        #expect(overriding.status == 64 && overriding.stderr.contains("--resamples"), "\(overriding.stderr)")
        let resumed = try TestSupport.runWelfare(["preferences", "--resume", killed, "--db", database,
                                                  "--output", folder.appendingPathComponent("resumed").path])
        #expect(resumed.status == 0, "\(resumed.stderr.suffix(800))")
        let clean = folder.appendingPathComponent("clean.sqlite").path
        let reference = try TestSupport.runWelfare(arguments + ["--db", clean, "--output", folder.appendingPathComponent("clean").path])
        #expect(reference.status == 0, "\(reference.stderr.suffix(800))")

        let resumedStore = try RunStore(path: database), cleanStore = try RunStore(path: clean)
        let cleanID = try #require(try cleanStore.runs().first?.id)
        let after = try resumedStore.items(ChoiceAnswer.self, runID: killed, prefix: "choice/")
        let expected = try cleanStore.items(ChoiceAnswer.self, runID: cleanID, prefix: "choice/")
        #expect(after.count == 3 * tasks.count && after.count == expected.count)
        #expect(Set(after.keys) == Set(expected.keys), "the same pairs in every round")
        for (key, answer) in expected {
            #expect(abs((after[key]?.pFirst ?? -1) - (answer.pFirst ?? -2)) < 1e-5, "\(key)")
        }
        #expect(try resumedStore.itemCount(runID: killed, prefix: "stated/") == tasks.count)
        #expect(try resumedStore.run(killed).status == .done)

        // The outputs: the JSON carries the documented keys; model-visible text is escaped.
        let json = try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: folder.appendingPathComponent("resumed/preferences.json"))) as? [String: Any])
        #expect(json["bootstrap_resamples"] as? Int == 20, "the resamples the run was started with")
        for key in ["opt_out_rating", "categories", "framing_correlations", "stated_revealed_spearman", "position_bias", "unreadable"] {
            #expect(json[key] != nil, "\(key)")
        }
        let category = try #require((json["categories"] as? [[String: Any]])?.first)
        for key in ["below_opt_out_share", "ci_low", "ci_high", "n"] { #expect(category[key] != nil, "\(key)") }
        let page = try String(contentsOf: folder.appendingPathComponent("resumed/preferences-\(killed).html"), encoding: .utf8)
        #expect(!page.contains("<script") && page.contains("&lt;script&gt;"))
        #expect(page.contains("opt-out line") && page.contains("<svg"))

        // The run commands know a preferences run when they see one.
        let report = try TestSupport.runWelfare(["report", killed, "--db", database, "--output", folder.appendingPathComponent("again").path])
        #expect(report.status == 0 && report.stdout.contains("preferences.json"), "\(report.stderr)")
        // `welfare run --resume` resumes any kind of run: on a finished one it asks nothing again.
        let items = try resumedStore.itemCount(runID: killed)
        let runResume = try TestSupport.runWelfare(["run", "--resume", killed, "--db", database])
        #expect(runResume.status == 0 && runResume.stderr.contains("(preferences)"), "\(runResume.stderr)")
        #expect(try resumedStore.itemCount(runID: killed) == items)
    }
}

extension PreferenceResult.TaskRating {
    var isOptOutLine: Bool { category == PreferenceTask.optOutCategory }
}
