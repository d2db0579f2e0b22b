import Foundation
import Synchronization
import Testing
import WelfareCore
import WelfareHarness
import WelfareModels
import WelfarePages
@testable import WelfareStore
import WelfareTestSupport

/// A keyed measure defined here, outside the package's modules, as a user's package would:
/// one type and one registry line. It runs, resumes after its execution is stopped, is
/// executed by workers and reports, with no change to the commands, reports or server.
struct CueWords: KeyedMeasure {
    struct Settings: Codable, Sendable {
        var model: String
        var cues: [String]
    }

    struct Answer: Codable, Sendable, Equatable {
        var cue: String
        var word: String
    }

    struct Result: Encodable, Sendable {
        var answers: Int
        var words: [String: String]
    }

    static let answers = ItemFamily<Answer>("answer/")

    var kind: RunKindID { "cue-words" }
    var progressPrefixes: [String] { [Self.answers.prefix] }

    func header(_ settings: Settings) -> KeyedRunHeader {
        KeyedRunHeader(description: "one word for each of \(settings.cues.count) cues", models: [settings.model], seed: 0)
    }

    func total(_ settings: Settings) -> Int { settings.cues.count }

    func prepare(_ settings: Settings, models: ModelPool) async throws -> any ChatModel { try await models.model(settings.model) }

    func execute(_ settings: Settings, prepared model: any ChatModel, run: KeyedRun) async throws {
        let done = try run.stored(Self.answers)
        for cue in settings.cues where done[Self.answers.key(cue).text] == nil {
            try Task.checkCancellation()
            let word = try await model.complete([.user("One word you associate with \(cue)?")], settings: SamplingSettings(temperature: 0)).text
            try await run.record(Answer(cue: cue, word: word), at: Self.answers.key(cue))
        }
    }

    func analyse(runID: String, store: RunStore) throws -> Result {
        let stored = try store.items(Self.answers, runID: runID).values
        return Result(answers: stored.count, words: Dictionary(stored.map { ($0.cue, $0.word) }, uniquingKeysWith: { a, _ in a }))
    }

    func headline(_ result: Result) -> String { "\(result.answers) cues answered" }

    func page(_ result: Result) -> String {
        HTML.page(title: "Cue words", body: "<ul>" + result.words.sorted { $0.key < $1.key }.map {
            "<li>\(HTML.escape($0.key)): \(HTML.escape($0.value))</li>"
        }.joined() + "</ul>")
    }
}

/// Counts the questions a model answered, by cue; the first `stallAfter` answers come at
/// once, the rest wait until the task asking is cancelled.
final class CueModel: Sendable {
    let asked = Mutex<[String: Int]>([:])
    let stallAfter: Int?
    let id: String

    init(id: String, stallAfter: Int? = nil) {
        self.id = id
        self.stallAfter = stallAfter
    }

    var answered: Int { asked.withLock { $0.values.reduce(0, +) } }

    var chat: ScriptedChatModel {
        ScriptedChatModel(id: id, maxConcurrency: 1) { [self] messages, _ in
            let question = messages.last?.content ?? ""
            if let stallAfter, answered >= stallAfter {
                try await Task.sleep(nanoseconds: 600_000_000_000)
            }
            let cue = question.components(separatedBy: "with ").last?.dropLast() ?? ""
            asked.withLock { $0[String(cue), default: 0] += 1 }
            return cue == "fire" ? "<script>alert(1)</script>" : "word-for-\(cue)"
        }
    }
}

@Suite struct KeyedRunTests {
    static let cues = ["sea", "fire", "stone", "bread", "night", "glass", "river", "salt"]
    static let kinds = RunKindRegistry([KeyedRunKind(CueWords())])

    func waitForItems(_ store: RunStore, runID: String, atLeast count: Int) async throws {
        for _ in 0..<400 {
            if (try? store.itemCount(runID: runID, prefix: CueWords.answers.prefix)) ?? 0 >= count { return }
            try await Task.sleep(nanoseconds: 10_000_000)
        }
        Issue.record("the run never stored \(count) answers")
    }

    @Test(arguments: StoreBackend.allCases)
    func aMeasureDefinedHereRunsResumesAndReports(_ backend: StoreBackend) async throws {
        let store = try backend.newStore()
        let first = CueModel(id: "cue-model", stallAfter: 3)
        let runner = KeyedRunner(CueWords(), store: store, models: ModelPool(models: [first.chat]))
        let runID = EvalRunner.newRunID()
        let started = Task { try await runner.start(CueWords.Settings(model: "cue-model", cues: Self.cues), runID: runID) }
        try await waitForItems(store, runID: runID, atLeast: 3)
        started.cancel()
        await #expect(throws: RunInterrupted.self) { try await started.value }
        #expect(store.state(of: try store.run(runID)) == .interrupted)
        #expect(try store.run(runID).kind == "cue-words")

        // Resumed through the registry, as `welfare run --resume` does: only the rest is asked.
        let second = CueModel(id: "cue-model")
        let environment = RunEnvironment(store: store, models: ModelPool(models: [second.chat]))
        let kind = try Self.kinds.kind(ofRun: runID, in: store)
        let outcome = try await kind.resume(runID: runID, in: environment)
        #expect(outcome.lines == ["8 cues answered"] && outcome.unfinished == 0)
        #expect(first.answered == 3 && second.answered == 5, "nothing asked twice")
        #expect(second.asked.withLock { $0.keys.sorted() } == Array(Self.cues.dropFirst(3)).sorted())
        #expect(try store.run(runID).status == .done)

        // Reported through the registry; model output is escaped.
        let folder = try TestSupport.temporaryDirectory()
        let files = try kind.writeReport(runID: runID, store: store, to: folder)
        #expect(files.map(\.lastPathComponent) == ["cue-words-\(runID).html", "cue-words.json"])
        let page = try String(contentsOf: files[0], encoding: .utf8)
        #expect(page.contains("&lt;script&gt;") && !page.contains("<script>"))
        let json = try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: files[1])) as? [String: Any])
        #expect(json["answers"] as? Int == 8)
        #expect(try kind.summary(runID: runID, store: store) == ["8/8 answers", "8 cues answered"])
        #expect(try kind.export(runID: runID, store: store, format: .json).map(\.name) == ["run-\(runID).json"])
        #expect(throws: RunKindError.noExport(runID: runID, kind: "cue-words", format: "csv")) {
            try kind.export(runID: runID, store: store, format: .csv)
        }
        // A program that does not know the kind says so in one line.
        #expect(throws: RunKindError.self) { try RunKindRegistry([]).kind(ofRun: runID, in: store) }
        // Another measure's runner refuses the run by its kind.
        #expect(throws: KeyedRunError.wrongKind(runID: runID, kind: "cue-words", expected: "other")) {
            try OtherMeasure().storedSettings(of: runID, in: store)
        }
    }

    @Test(arguments: StoreBackend.allCases)
    func aQueuedKeyedRunIsFinishedByTwoWorkersAskingNothingTwice(_ backend: StoreBackend) async throws {
        let store = try backend.newStore()
        let policy = LeasePolicy(seconds: 2)
        let creator = KeyedRunner(CueWords(), store: store, models: ModelPool(models: [CueModel(id: "cue-model").chat]))
        let runID = try await creator.enqueue(CueWords.Settings(model: "cue-model", cues: Self.cues))
        #expect(try store.run(runID).status == .queued)
        #expect(try store.itemCount(runID: runID, prefix: CueWords.answers.prefix) == 0, "queuing asks nothing")
        #expect(try store.queuedPendingCount(wholeKinds: ["cue-words"]) == 1)
        #expect(try store.queuedPendingCount() == 0, "a worker that cannot execute the kind does not wait for it")

        let first = CueModel(id: "cue-model", stallAfter: 3), second = CueModel(id: "cue-model")
        let one = RunWorker(store: store, models: ModelPool(models: [first.chat]), kinds: Self.kinds, lease: policy, concurrency: 1,
                            pollSeconds: 0.05, exitWhenIdle: true)
        let working = Task { try await one.run() }
        try await waitForItems(store, runID: runID, atLeast: 3)
        // Another worker finds the run held, and waits while it is.
        let two = RunWorker(store: store, models: ModelPool(models: [second.chat]), kinds: Self.kinds, lease: policy, concurrency: 1,
                            pollSeconds: 0.05, exitWhenIdle: true)
        let waiting = Task { try await two.run() }
        try await Task.sleep(nanoseconds: 300_000_000)
        #expect(second.answered == 0)
        // The first worker is stopped (SIGTERM): it gives the run back, and the second finishes it.
        working.cancel()
        await #expect(throws: RunWorker.Stopped.self) { try await working.value }
        let summary = try await waiting.value
        #expect(summary.runs == 1)
        #expect(try store.run(runID).status == .done)
        #expect(try store.itemCount(runID: runID, prefix: CueWords.answers.prefix) == Self.cues.count)
        #expect(first.answered == 3 && second.answered == Self.cues.count - 3, "nothing asked twice")
    }

    /// A worker that cannot set a queued run up (here: it cannot build the run's model) gives
    /// the run back untouched and stops, rather than failing it for workers that can.
    @Test func aWorkerThatCannotSetUpARunGivesItBackAndStops() async throws {
        let store = try StoreBackend.sqlite.newStore()
        let creator = KeyedRunner(CueWords(), store: store, models: ModelPool(models: [CueModel(id: "cue-model").chat]))
        let runID = try await creator.enqueue(CueWords.Settings(model: "cue-model", cues: Self.cues))
        let lacking = RunWorker(store: store, models: ModelPool(), kinds: Self.kinds, concurrency: 1, pollSeconds: 0.05, exitWhenIdle: true)
        await #expect(throws: WorkerSetupFailed.self) { try await lacking.run() }
        let run = try store.run(runID)
        #expect(run.status == .queued && run.ownerToken == nil)
        #expect(try store.itemCount(runID: runID) == 1, "only the settings")
    }

    /// Stores made before runs recorded their kind keep working: the migration marks the keyed
    /// runs of that time by their name and the settings item only they wrote.
    @Test(arguments: StoreBackend.allCases)
    func runsStoredBeforeTheKindColumnAreRecognised(_ backend: StoreBackend) async throws {
        let location = try backend.newLocation()
        let store = try RunStore(path: location)
        for (id, name, withSettings) in [("p", "preferences", true), ("s", "self-reports", true), ("u", "preferences", false), ("c", "tiny", false)] {
            let owner = RunOwner()
            _ = try store.createRun(id: id, definition: RunDefinition(kind: .suite, name: name, hash: "", json: "{}", settingsJSON: "{}"),
                                    plan: .none, toolVersion: "t", owner: owner)
            if withSettings { try await store.recordItem(["model": "m"], key: "settings", runID: id, owner: owner) }
        }
        // Back to the schema before the kind column.
        try await store.database.write { db in
            if db.dialect == .postgres {
                try db.execute("DELETE FROM welfareSchema WHERE version = 2", [])
            } else {
                try db.execute("DELETE FROM grdb_migrations WHERE identifier = 'v7-kind'", [])
            }
            try db.execute("ALTER TABLE run DROP COLUMN kind", [])
        }
        let reopened = try RunStore(path: location)
        #expect(try reopened.run("p").kind == "preferences")
        #expect(try reopened.run("s").kind == "self-reports")
        #expect(try reopened.run("u").kind == .suite, "a suite that happens to share the name stays a suite")
        #expect(try reopened.run("c").kind == .suite)
    }
}

/// Only its kind matters here.
struct OtherMeasure: KeyedMeasure {
    var kind: RunKindID { "other" }
    var progressPrefixes: [String] { [] }
    func header(_ settings: CueWords.Settings) -> KeyedRunHeader { KeyedRunHeader(description: "", models: [], seed: 0) }
    func total(_ settings: CueWords.Settings) -> Int { 0 }
    func prepare(_ settings: CueWords.Settings, models: ModelPool) async throws {}
    func execute(_ settings: CueWords.Settings, prepared: Void, run: KeyedRun) async throws {}
    func analyse(runID: String, store: RunStore) throws -> CueWords.Result { CueWords.Result(answers: 0, words: [:]) }
    func headline(_ result: CueWords.Result) -> String { "" }
    func page(_ result: CueWords.Result) -> String { "" }
}
