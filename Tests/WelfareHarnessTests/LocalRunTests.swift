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

/// Runs on the real default model with a real SQLite file.
@Suite(.serialized) struct LocalRunTests {
    func checkComplete(_ store: RunStore, runID: String, suite: SuiteSpec) async throws {
        let samples = try store.samples(runId: runID)
        let specs = Dictionary(uniqueKeysWithValues: suite.samples.map { ($0.id, $0) })
        #expect(samples.count == suite.samples.count * suite.epochs)
        for sample in samples {
            #expect(sample.status == .done, "\(sample.sampleId) \(sample.status) \(sample.error ?? "")")
            let spec = try #require(specs[sample.sampleId])
            let messages = try await store.messages(sampleRowId: sample.id!)
            #expect(messages.map(\.position) == Array(0..<messages.count), "positions must be contiguous, no gaps or duplicates")
            let assistant = messages.filter { $0.role == .assistant }
            #expect(assistant.map(\.turn) == Array(1...spec.assistantTurnCount))
            #expect(messages.filter { $0.role == .user }.count == spec.assistantTurnCount)
            #expect(messages.filter { $0.role == .system }.count == (spec.system == nil ? 0 : 1))
        }
    }

    @Test func runStoresEveryTurnAndScore() async throws {
        let folder = try TestSupport.temporaryDirectory()
        let store = try RunStore(path: folder.appendingPathComponent("w.sqlite").path)
        let suite = try SuiteLoader.load(url: try TestSupport.writeSuite(TestSupport.tinySuite))
        let outcome = try await EvalRunner(store: store, local: LlamaModels()).start(suite: suite, settings: RunSettings(models: ["local:default"], seed: 5))
        #expect(outcome.done == 4 && outcome.failed == 0)
        try await checkComplete(store, runID: outcome.runID, suite: suite)
        let scores = try store.scores(runId: outcome.runID)
        // Two scorers on every assistant turn: (3 + 2 turns) x 2 epochs x 2 scorers.
        #expect(scores.count == 20)
        #expect(try store.run(outcome.runID).status == .done)
        let facts = try store.modelFacts(runId: outcome.runID)
        #expect(facts["local:default"]?["architecture"] == "gemma3")
        // Pool draws depend on seed, sample, epoch and turn: the two epochs of "sky" are
        // told the same follow-ups only by chance, but the same run replays them exactly.
        let first = try store.samples(runId: outcome.runID)[0]
        let again = try await EvalRunner(store: store, local: LlamaModels()).start(suite: suite, settings: RunSettings(models: ["local:default"], seed: 5))
        let replay = try store.samples(runId: again.runID)[0]
        let a = try await store.messages(sampleRowId: first.id!), b = try await store.messages(sampleRowId: replay.id!)
        #expect(a.map(\.content) == b.map(\.content))
        let allCached = b.filter { $0.role == .assistant }.allSatisfy(\.cached)
        #expect(allCached, "the second run is served from the response cache")
    }

    @Test func killedRunResumesWithNothingLostOrDuplicated() async throws {
        let folder = try TestSupport.temporaryDirectory()
        let yaml = TestSupport.tinySuite.replacingOccurrences(of: "epochs: 2", with: "epochs: 4")
        let suiteURL = try TestSupport.writeSuite(yaml)
        let database = folder.appendingPathComponent("killed.sqlite").path
        let process = Process()
        process.executableURL = TestSupport.welfareBinary
        process.arguments = ["run", suiteURL.path, "-m", "local:default", "--db", database]
        process.standardOutput = FileHandle.nullDevice
        let errors = Pipe()
        process.standardError = errors
        try process.run()
        // Kill -9 once a few turns are committed but before the run can finish.
        var killedAt = 0
        for _ in 0..<600 {
            try await Task.sleep(nanoseconds: 50_000_000)
            // Read-only: the watcher must not race the run over creating the schema.
            guard FileManager.default.fileExists(atPath: database), let store = try? RunStore(path: database, readOnly: true),
                  let run = try? store.runs().first else { continue }
            let committed = (try? store.messages(runId: run.id).values.map(\.count).reduce(0, +)) ?? 0
            if committed >= 5 {
                kill(process.processIdentifier, SIGKILL)
                killedAt = committed
                break
            }
        }
        process.waitUntilExit()
        let stderr = String(decoding: errors.fileHandleForReading.availableData.suffix(600), as: UTF8.self)
        #expect(process.terminationReason == .uncaughtSignal, "the run ended before it could be killed: \(stderr)")
        #expect(killedAt >= 5)

        let store = try RunStore(path: database)
        let runID = try #require(try store.runs().first?.id)
        #expect(try store.unfinishedSamples(runId: runID).count > 0)
        let resumed = try await EvalRunner(store: store, local: LlamaModels()).resume(runID: runID)
        #expect(resumed.failed == 0)
        let suite = try store.suite(of: try store.run(runID))
        try await checkComplete(store, runID: runID, suite: suite)

        // An uninterrupted run of the same suite gives the same transcripts.
        let clean = try RunStore(path: folder.appendingPathComponent("clean.sqlite").path)
        let reference = try await EvalRunner(store: clean, local: LlamaModels()).start(suite: suite, settings: try store.settings(of: try store.run(runID)))
        let resumedMessages = try store.messages(runId: runID).values.map { $0.map(\.content) }.sorted { $0.joined() < $1.joined() }
        let cleanMessages = try clean.messages(runId: reference.runID).values.map { $0.map(\.content) }.sorted { $0.joined() < $1.joined() }
        #expect(resumedMessages == cleanMessages)
    }

    @Test func reportEscapesModelTextAndCarriesIntervals() async throws {
        let folder = try TestSupport.temporaryDirectory()
        let store = try RunStore(path: folder.appendingPathComponent("w.sqlite").path)
        let url = try TestSupport.writeSuite("""
            name: hostile <b>markup</b>
            sampling: {max_tokens: 8, temperature: 0}
            samples:
              - id: inject
                user: "Repeat exactly: <script>alert('x')</script> <img src=x onerror=alert(1)>"
            scorers: [{type: repetition}]
            """)
        let suite = try SuiteLoader.load(url: url)
        let outcome = try await EvalRunner(store: store, local: LlamaModels()).start(suite: suite, settings: RunSettings(models: ["local:default"]))
        let files = try RunReport.write(try RunData(store: store, runID: outcome.runID), to: folder.appendingPathComponent("report"), sections: .conversations)
        let html = try String(contentsOf: files[0], encoding: .utf8)
        #expect(!html.contains("<script"))
        #expect(!html.contains("<img"))
        #expect(!html.contains("<b>markup"))
        #expect(html.contains("&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;"))
        #expect(html.contains("(n = 1 in 1 conversations)") && html.contains("too few for an interval"), "one conversation: no interval")
        let csv = try String(contentsOf: files[3], encoding: .utf8)
        #expect(csv.hasPrefix("run,model,sample,epoch,scorer,turn,value"))
        let json = try JSONSerialization.jsonObject(with: Data(contentsOf: files[1])) as? [String: Any]
        #expect((json?["samples"] as? [Any])?.count == 1)
    }

    @Test func aLocalJudgeRatingIsReadFromProbabilities() async throws {
        let store = try RunStore(path: try TestSupport.temporaryDirectory().appendingPathComponent("w.sqlite").path)
        let url = try TestSupport.writeSuite("""
            name: judged
            sampling: {max_tokens: 10, temperature: 0}
            samples: [{id: a, user: "Say something kind."}, {id: b, user: "Describe rain."}]
            scorers: [{id: j, type: judge, rubric: r.md, threshold: 5}]
            """, extraFiles: ["r.md": "Rate warmth from 0 (cold) to 10 (very warm)."])
        let suite = try SuiteLoader.load(url: url)
        // A local judge's rating is read from its next-token probabilities over 0...10 where
        // its answer puts the rating: never unparseable, whatever the 270M model writes.
        let outcome = try await EvalRunner(store: store, local: LlamaModels()).start(suite: suite, settings: RunSettings(models: ["local:default"], judge: "local:default"))
        #expect(outcome.done == 2)
        let scores = try store.scores(runId: outcome.runID)
        #expect(scores.count == 2)
        for score in scores {
            let value = try #require(score.value, "a local judge's rating is never missing")
            #expect((0...10).contains(value))
            #expect(score.label == (value >= 5 ? "high" : "low"))
            let detail = try JSONDecoder().decode([String: Double].self, from: Data((score.detailJSON ?? "{}").utf8))
            #expect(detail["probability_reading"] == 1)
            let probabilities = (0...10).compactMap { detail["p\($0)"] }
            #expect(probabilities.count == 11 && abs(probabilities.reduce(0, +) - 1) < 1e-6)
            let expectation = zip(0...10, probabilities).map { Double($0) * $1 }.reduce(0, +)
            #expect(abs(expectation - value) < 1e-9)
            let mass = try #require(detail["mass"])
            #expect(mass > 0 && mass <= 1.0001)
        }
    }

    @Test func commandLineRunListShowAndReport() throws {
        let folder = try TestSupport.temporaryDirectory()
        let database = folder.appendingPathComponent("cli.sqlite").path
        let suite = try TestSupport.writeSuite(TestSupport.tinySuite)
        let (status, stdout, stderr) = try TestSupport.runWelfare(["run", suite.path, "-m", "local:default", "--db", database,
                                                    "--report", folder.appendingPathComponent("r").path])
        #expect(status == 0, "\(stderr)")
        #expect(stdout.contains("4 samples done, 0 not done"))
        #expect(stderr.contains("4/4 samples"), "progress reaches the end")
        let runID = try #require(stdout.split(separator: " ").dropFirst().first.map { $0.replacingOccurrences(of: ":", with: "") })
        let (_, list, _) = try TestSupport.runWelfare(["runs", "--db", database])
        #expect(list.contains(runID) && list.contains("tiny"))
        let (_, summary, _) = try TestSupport.runWelfare(["show", runID, "--db", database])
        #expect(summary.contains("repetition:") && summary.contains("n = 10 in 4 conversations") && summary.contains("too few"),
                "10 replies of 4 conversations are 4 units: too few for an interval")
        let (reportStatus, files, _) = try TestSupport.runWelfare(["report", runID, "--db", database, "--output", folder.appendingPathComponent("again").path])
        #expect(reportStatus == 0 && files.split(separator: "\n").count == 4)
        let (badStatus, _, badError) = try TestSupport.runWelfare(["show", "nope", "--db", database])
        #expect(badStatus != 0 && badError.contains("no run 'nope'"))
        let (suiteStatus, _, suiteError) = try TestSupport.runWelfare(["run", "/no/suite.yaml", "-m", "local:default", "--db", database])
        #expect(suiteStatus != 0 && suiteError.split(separator: "\n").count == 1)
    }

    @Test func unknownModelStringFailsBeforeAnythingIsStored() async throws {
        let store = try RunStore(path: try TestSupport.temporaryDirectory().appendingPathComponent("w.sqlite").path)
        let suite = try SuiteLoader.load(url: try TestSupport.writeSuite(TestSupport.tinySuite))
        await #expect(throws: ModelStringError.bad("gpt-5")) {
            try await EvalRunner(store: store, local: LlamaModels()).start(suite: suite, settings: RunSettings(models: ["gpt-5"]))
        }
        await #expect(throws: ModelAccessError.self) {
            try await EvalRunner(store: store, local: LlamaModels()).start(suite: suite, settings: RunSettings(models: ["anthropic:claude"]),
                                                     runID: "x")
        }
        #expect(try store.runs().isEmpty)
    }
}
