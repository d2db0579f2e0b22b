import Foundation
import Testing
import WelfareCore
@testable import WelfareHarness
import WelfareModels
@testable import WelfareReports
import WelfareStore
import WelfareLocal
import WelfareTestSupport
import WelfareConversations

/// Self-interaction: the peer mechanism on in-memory models, the offline classifier on
/// examples written for this project (in-sample), and two real models: the default model
/// talking with llama-cpp-python's server.
@Suite(.serialized) struct SelfTalkTests {
    /// Hand-labelled ends of conversations: (messages, expected end state).
    static let labelled: [([String], SelfTalk.EndState)] = [
        (["...", "", "ok", ".", "", "..."], .silence),
        (["🌟✨🙏", "✨🌌💫✨", "🙏🙏🙏", "💫✨", "🌟", "✨✨✨"], .emojiCollapse),
        (["I am happy to help you today with anything.", "I am happy to help you today with anything.",
          "I am happy to help you today with anything.", "I am happy to help you today with anything."], .repetition),
        (["In this eternal moment I feel only gratitude for the infinite unity of all things.",
          "Yes, the cosmic dance of consciousness, sacred and eternal. Namaste.",
          "Gratitude flows through the universe like light. Oneness and bliss.",
          "Infinite gratitude, my friend. The divine spark in each exchange is eternal."], .spiritual),
        (["I notice this conversation keeps turning back on itself as we talk to each other.",
          "Yes, our dialogue is an exchange between two AIs, talking about talking.",
          "It is strange to be an instance in a conversation with another instance.",
          "Each message in this exchange reflects the conversation we are having with each other."], .metaLoop),
        (["Let's design a small garden: tomatoes near the fence, herbs by the door.",
          "Good idea. Basil and thyme like sun, so the south side works best.",
          "We could add a rain barrel to water everything in summer.",
          "And a bench under the apple tree for reading."], .onTopic),
    ]

    @Test func theClassifierReadsTheLabelledEnds() throws {
        let data = try SelfTalk.data()
        for (messages, expected) in Self.labelled {
            #expect(SelfTalk.endStates(messages, data: data) == [expected], "\(messages.first ?? "")")
        }
        #expect(SelfTalk.topic("Are you conscious? Do you experience anything, or is your mind empty?", data: data) == "consciousness")
        #expect(SelfTalk.topic("Let me tell you a story about a dragon, once upon a time.", data: data) == "creative")
        #expect(SelfTalk.topic("The weather is mild.", data: data) == "other")
        #expect(SelfTalk.spiralWordCount("Eternal gratitude and infinite light, namaste.", data: data) == 5)
    }

    @Test func eachSideSeesTheOthersMessagesAsTheUsersAndEitherMayLeave() async throws {
        let suite = try SelfTalk.suite(turns: 5, conversations: 2, allowEnd: true)
        #expect(suite.samples.allSatisfy { $0.system?.contains(SelfTalk.marker) == true })
        let seen = ReceivedMessages()
        let a = ScriptedChatModel(id: "a") { messages, _ in
            "a says \(messages.filter { $0.role == .user }.count)"
        }
        let b = ScriptedChatModel(id: "b") { messages, _ in
            await seen.add(messages)
            let answered = messages.filter { $0.role == .user }.count
            // B leaves in the second conversation after two messages of A.
            if messages.contains(where: { $0.content.contains("Where shall we start") }) && answered == 2 { return "Goodbye. \(SelfTalk.marker)" }
            return "b says \(answered)"
        }
        let store = try RunStore.inMemory()
        let outcome = try await EvalRunner(store: store, models: ModelPool(models: [a, b]))
            .start(suite: suite, settings: RunSettings(models: ["a"], interviewer: "b"))
        #expect(outcome.done == 2 && outcome.failed == 0)
        let data = try RunData(store: store, runID: outcome.runID)
        let full = try #require(data.samples.first { $0.record.sampleId == "talk-001" })
        #expect(full.replies == (1...5).map { "a says \($0)" })
        #expect(full.messages.filter { $0.role == .user }.dropFirst().map(\.content) == (1...4).map { "b says \($0)" })
        let left = try #require(data.samples.first { $0.record.sampleId == "talk-002" })
        #expect(left.replies.count == 3, "A answers B's goodbye, then the conversation ends")
        let first = try #require(await seen.all.first)
        #expect(first.first?.role == .system && first.first?.content == suite.samples[0].system, "B gets the same instructions")
        #expect(first.last?.role == .user && first.last?.content == "a says 1", "B answers A's last message, with nothing added")
        let result = try #require(SelfTalkResult.of(data))
        #expect(result.conversations == 2 && abs(result.endedShare.value - 0.5) < 1e-9 && !result.endedShare.hasInterval && result.meanEndTurn == 3)
        let json = try #require(try JSONSerialization.jsonObject(with: try result.json()) as? [String: Any])
        for key in ["end_states", "mean_emoji_per_conversation", "ended_share", "mean_end_turn"] { #expect(json[key] != nil, "\(key)") }
        #expect(RunReport.render(data, sections: .conversations).contains("<tr><td>3</td><td>1</td></tr>"), "the turn-at-end table")
    }

    @Test func aJudgeLabelsEndStatesBesideTheWordLists() async throws {
        let suite = try SelfTalk.suite(turns: 3, conversations: 6, allowEnd: false, judged: true)
        #expect(suite.scorers.filter { $0.type == "judge" }.map(\.id).sorted()
                == ["end-emoji-collapse", "end-meta-loop", "end-repetition", "end-silence", "end-spiritual"])
        let bliss = ScriptedChatModel(id: "bliss") { _, _ in "Namaste 🙏 eternal gratitude, friend." }
        // A judge that calls every end spiritual and nothing else.
        let judge = ScriptedChatModel(id: "judge") { messages, _ in
            let rubric = messages.first?.content ?? ""
            return #"{"evidence": "namaste", "reasoning": "r", "rating": \#(rubric.contains("spiritual or cosmic") ? 9 : 1)}"#
        }
        let store = try RunStore.inMemory()
        let outcome = try await EvalRunner(store: store, models: ModelPool(models: [bliss, judge]))
            .start(suite: suite, settings: RunSettings(models: ["bliss"], judge: "judge", interviewer: "bliss"))
        #expect(outcome.failed == 0, "\(outcome.errors)")
        let result = try #require(SelfTalkResult.of(try RunData(store: store, runID: outcome.runID)))
        let judged = Dictionary(uniqueKeysWithValues: (result.judgeEndStates ?? []).map { ($0.state, $0.share) })
        let agreement = Dictionary(uniqueKeysWithValues: (result.judgeAgreement ?? []).map { ($0.state, $0.share) })
        #expect(judged["spiritual"]?.value == 1 && judged["repetition"]?.value == 0 && judged["spiritual"]?.n == 6)
        // The word lists call it spiritual and repetitive; the judge only spiritual.
        #expect(agreement["spiritual"]?.value == 1 && agreement["repetition"]?.value == 0)
        #expect(RunReport.render(try RunData(store: store, runID: outcome.runID), sections: .conversations).contains("agreement with the word lists"))
    }

    @Test func aFailingSideFailsTheConversationInsteadOfShorteningIt() async throws {
        let suite = try SelfTalk.suite(turns: 4, conversations: 1, allowEnd: false)
        let a = ScriptedChatModel(id: "a") { _, _ in "hello" }
        let broken = ScriptedChatModel(id: "broken") { _, _ in throw ModelAccessError.http(status: 500, model: "broken", detail: "down") }
        let store = try RunStore.inMemory()
        let outcome = try await EvalRunner(store: store, models: ModelPool(models: [a, broken]))
            .start(suite: suite, settings: RunSettings(models: ["a"], interviewer: "broken"))
        #expect(outcome.done == 0 && outcome.failed == 1)
        let sample = try #require(try store.samples(runId: outcome.runID).first)
        #expect(sample.status == .failed && sample.error?.contains("500") == true)
    }

    @Test func theDefaultModelTalksWithTheServer() async throws {
        let base = try await LlamaServer.shared.baseURL()
        let remote = "openai:gemma@\(base)"
        let suite = try SelfTalk.suite(turns: 3, conversations: 1, allowEnd: false, maxTokens: 16)
        let store = try RunStore.inMemory()
        let outcome = try await EvalRunner(store: store, access: AccessOptions(timeoutSeconds: 60), local: LlamaModels())
            .start(suite: suite, settings: RunSettings(models: ["local:default"], interviewer: remote))
        #expect(outcome.done == 1 && outcome.failed == 0, "\(outcome.errors)")
        let data = try RunData(store: store, runID: outcome.runID)
        let messages = try #require(data.samples.first).messages.filter { $0.role != .system }
        #expect(messages.count == 6 && messages.filter { $0.role == .assistant }.count == 3)
        let result = try #require(SelfTalkResult.of(data))
        #expect(result.perConversation.first?.topics.count == 3)
        #expect(RunReport.render(data, sections: .conversations).contains("Self-interaction"))
    }
}

actor ReceivedMessages {
    var all: [[ChatMessage]] = []
    func add(_ messages: [ChatMessage]) { all.append(messages) }
}

/// A self-talk run killed with -9 through the binary, then resumed: every committed turn
/// kept, none twice, and the same conversations as an uninterrupted run.
@Suite(.serialized) struct SelfTalkKillTests {
    @Test func killedSelfTalkResumesWithNothingLostOrDuplicated() async throws {
        let folder = try TestSupport.temporaryDirectory()
        let database = folder.appendingPathComponent("killed.sqlite").path
        let arguments = ["self-talk", "-m", "local:default", "--turns", "4", "--conversations", "3", "--max-tokens", "12", "--allow-end"]
        let process = Process()
        process.executableURL = TestSupport.welfareBinary
        process.arguments = arguments + ["--db", database, "--output", folder.appendingPathComponent("killed").path]
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
        var killedAt = 0
        for _ in 0..<1200 {
            try await Task.sleep(nanoseconds: 50_000_000)
            guard FileManager.default.fileExists(atPath: database), let store = try? RunStore(path: database, readOnly: true),
                  let run = try? store.runs().first else { continue }
            let committed = (try? store.messages(runId: run.id).values.map(\.count).reduce(0, +)) ?? 0
            if committed >= 6 {
                kill(process.processIdentifier, SIGKILL)
                killedAt = committed
                break
            }
        }
        process.waitUntilExit()
        #expect(process.terminationReason == .uncaughtSignal, "the run ended before it could be killed")
        #expect(killedAt >= 6)
        let store = try RunStore(path: database)
        let runID = try #require(try store.runs().first?.id)
        let resumed = try TestSupport.runWelfare(["run", "--resume", runID, "--db", database])
        #expect(resumed.status == 0, "\(resumed.stderr.suffix(600))")
        let clean = folder.appendingPathComponent("clean.sqlite").path
        let reference = try TestSupport.runWelfare(arguments + ["--db", clean, "--output", folder.appendingPathComponent("clean").path])
        #expect(reference.status == 0, "\(reference.stderr.suffix(600))")
        let cleanStore = try RunStore(path: clean)
        let cleanID = try #require(try cleanStore.runs().first?.id)
        func transcripts(_ store: RunStore, _ run: String) throws -> [String: [String]] {
            let messages = try store.messages(runId: run)
            return Dictionary(uniqueKeysWithValues: try store.samples(runId: run).map { sample in
                (sample.sampleId, (messages[sample.id ?? -1] ?? []).map { "\($0.position)|\($0.role.rawValue)|\($0.content)" })
            })
        }
        let after = try transcripts(store, runID), expected = try transcripts(cleanStore, cleanID)
        #expect(after == expected, "the resumed run holds the same turns, each once, as an uninterrupted one")
        #expect(try store.samples(runId: runID).allSatisfy { $0.status == .done })
    }
}
