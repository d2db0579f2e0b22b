import Foundation
import Testing
import WelfareCore
@testable import WelfareHarness
import WelfareModels
import WelfareStore
import WelfareTestSupport

/// The run store's semantics, once for each store: SQLite and PostgreSQL must behave alike
/// (one test suite, two backends). Scripted models, so the cases are quick; real-model and
/// real-process runs are in OwnershipTests and WorkerTests.
@Suite struct StoreTests {
    static let tiny = TestSupport.tinySuite

    func tinySuite() throws -> SuiteSpec { try SuiteLoader.load(url: try TestSupport.writeSuite(Self.tiny)) }

    @Test(arguments: StoreBackend.allCases)
    func failedSamplesResumeWithoutDuplicates(_ backend: StoreBackend) async throws {
        var registry = ScorerRegistry.standard
        registry.register(ScriptedRuns.LengthScorer.kind)
        let suite = try SuiteLoader.load(url: try TestSupport.writeSuite(ScriptedRuns.suiteYAML), registry: registry)
        let store = try backend.newStore()
        let broken = EvalRunner(store: store, models: ModelPool(models: [ScriptedRuns.echo("m", failing: ["second"])]), registry: registry)
        let first = try await broken.start(suite: suite, settings: RunSettings(models: ["m"], seed: 9))
        #expect(first.done == 2 && first.failed == 2)
        #expect(try store.run(first.runID).status == .incomplete)
        let fixed = EvalRunner(store: store, models: ModelPool(models: [ScriptedRuns.echo("m")]), registry: registry)
        let resumed = try await fixed.resume(runID: first.runID)
        #expect(resumed.done == 4 && resumed.failed == 0)
        #expect(try store.run(first.runID).status == .done)
        let messages = try store.messages(runId: first.runID)
        for sample in try store.samples(runId: first.runID) {
            let rowID = try #require(sample.id)
            let stored = try #require(messages[rowID])
            #expect(stored.map(\.position) == Array(0..<stored.count))
            #expect(stored.last?.content == "turn \(sample.sampleId == "a" ? 3 : 1) of \(sample.sampleId == "a" ? "first" : "second") from m")
        }
        // Two scorers, one score per reply, none twice.
        #expect(try store.scores(runId: first.runID).count == 2 * messages.values.joined().filter { $0.role == .assistant }.count)
        #expect(try store.modelFacts(runId: first.runID)["m"] != nil)
    }

    @Test(arguments: StoreBackend.allCases)
    func leasesExpireAndALostLeaseStopsWrites(_ backend: StoreBackend) async throws {
        let store = try backend.newStore()
        let elsewhere = RunOwner(host: "another-machine", pid: 4242)
        let policy = LeasePolicy(seconds: 30)
        _ = try store.createRun(id: "r1", suite: try tinySuite(), settings: RunSettings(models: ["m"]), toolVersion: "t",
                                owner: elsewhere, policy: policy)
        #expect(store.state(of: try store.run("r1")) == .running)
        let me = RunOwner()
        #expect(throws: StoreError.self) { try store.acquireLease(runID: "r1", owner: me, policy: policy) }
        let later = Date().addingTimeInterval(31)
        #expect(store.state(of: try store.run("r1"), now: later) == .interrupted)
        try store.acquireLease(runID: "r1", owner: me, policy: policy, now: later)
        let row = try #require(try store.samples(runId: "r1").first?.id)
        let turn = MessageRecord(sampleRowId: row, position: 0, turn: 1, role: .user, content: "hi", cached: false, latencyMs: nil,
                                 createdAt: Date())
        await #expect(throws: StoreError.leaseLost("r1")) { try await store.appendTurn(sampleRowId: row, messages: [turn], owner: elsewhere, runID: "r1") }
        await #expect(throws: StoreError.leaseLost("r1")) { try await store.renewLease(runID: "r1", owner: elsewhere, policy: policy) }
        try await store.appendTurn(sampleRowId: row, messages: [turn], owner: me, runID: "r1")
        // The same position twice is refused by the store itself, whoever writes it.
        await #expect(throws: (any Error).self) { try await store.appendTurn(sampleRowId: row, messages: [turn], owner: me, runID: "r1") }
        #expect(try await store.messages(sampleRowId: row).count == 1)
        try store.releaseRun(runID: "r1", owner: me, status: .interrupted)
        #expect(try store.run("r1").ownerToken == nil)
    }

    @Test(arguments: StoreBackend.allCases)
    func aClashIsRefusedAndLargeRunsAreCreatedInBatches(_ backend: StoreBackend) throws {
        let store = try backend.newStore()
        let suite = try tinySuite()
        _ = try store.createRun(id: "same", suite: suite, settings: RunSettings(models: ["m"]), toolVersion: "t", owner: RunOwner())
        #expect(throws: StoreError.runExists("same")) {
            _ = try store.createRun(id: "same", suite: suite, settings: RunSettings(models: ["m"]), toolVersion: "t", owner: RunOwner())
        }
        #expect(try store.samples(runId: "same").count == 4)
        let owner = RunOwner()
        var seen: [Int] = []
        _ = try store.createRun(id: "big", suite: suite, settings: RunSettings(models: ["m"], epochsOverride: 2100), toolVersion: "t",
                                owner: owner) { created, _ in seen.append(created) }
        #expect(seen == [0, 2000, 4000, 4200])
        try store.createSamples(runID: "big", owner: owner)
        #expect(try store.samples(runId: "big").count == 4200)
        #expect(try store.runs().map(\.id).sorted() == ["big", "same"])
    }

    /// Items, analyses, the response cache and hostile text read back exactly as written.
    @Test(arguments: StoreBackend.allCases)
    func recordsRoundTripExactly(_ backend: StoreBackend) async throws {
        let store = try backend.newStore()
        let owner = RunOwner()
        _ = try store.createRun(id: "r", suite: try tinySuite(), settings: RunSettings(models: ["m"]), toolVersion: "t", owner: owner)
        let hostile = "quote ' \" ? $1 -- ; DROP TABLE run; <script>é 日本 🙂\ttab\nline"
        try await store.recordItem(["text": hostile], key: "choice/1", runID: "r", owner: owner)
        try await store.recordItem(["text": "second write ignored"], key: "choice/1", runID: "r", owner: owner)
        try await store.recordItem(["text": "b"], key: "choice/2", runID: "r", owner: owner)
        try await store.recordItem(["text": "c"], key: "rating/1", runID: "r", owner: owner)
        #expect(try store.items([String: String].self, runID: "r", prefix: "choice/") == ["choice/1": ["text": hostile], "choice/2": ["text": "b"]])
        #expect(try store.itemCount(runID: "r", prefix: "choice/") == 2)
        #expect(try store.itemCount(runID: "r") == 3)

        try store.saveAnalysis(AnalysisRecord(runId: "r", model: "m", name: "n", key: "k", value: 1, evidence: hostile, reasoning: nil))
        try store.saveAnalysis(AnalysisRecord(runId: "r", model: "m", name: "n", key: "k", value: 2.5, evidence: "e", reasoning: "why"))
        let analyses = try store.analyses(runId: "r")
        #expect(analyses.count == 1 && analyses[0].value == 2.5 && analyses[0].reasoning == "why")

        #expect(try await store.cachedResponse(key: "k1") == nil)
        let completion = ChatCompletion(text: hostile, promptTokens: 7, completionTokens: 3)
        try await store.cacheResponse(key: "k1", completion: completion)
        #expect(try await store.cachedResponse(key: "k1")?.text == hostile)

        let row = try #require(try store.samples(runId: "r").first?.id)
        let written = Date()
        try await store.appendTurn(sampleRowId: row, messages: [
            MessageRecord(sampleRowId: row, position: 0, turn: 1, role: .user, content: hostile, cached: false, latencyMs: nil, createdAt: written),
            MessageRecord(sampleRowId: row, position: 1, turn: 1, role: .assistant, content: "ok", cached: true, latencyMs: 12.5,
                          createdAt: written, truncated: true, promptTokens: 9, completionTokens: 1),
        ], owner: owner, runID: "r")
        let messages = try await store.messages(sampleRowId: row)
        #expect(messages.map(\.content) == [hostile, "ok"])
        #expect(messages[1].cached && messages[1].truncated && messages[1].latencyMs == 12.5 && messages[1].promptTokens == 9)
        #expect(abs(messages[0].createdAt.timeIntervalSince(written)) < 0.002)
        try await store.finishSample(sampleRowId: row, scores: [
            ScoreRecord(sampleRowId: row, scorer: "s", turn: 1, value: 0.25, label: hostile, evidence: nil, reasoning: nil, detailJSON: "{}"),
        ], owner: owner, runID: "r")
        let scores = try store.scores(runId: "r")
        #expect(scores.count == 1 && scores[0].label == hostile && scores[0].value == 0.25)
        #expect(try store.samples(runId: "r").first { $0.id == row }?.status == .done)
    }

    /// Queued runs: claims are exclusive, expire, are fenced, count their attempts, and the
    /// last sample to end closes the run.
    @Test(arguments: StoreBackend.allCases)
    func queuedSamplesAreClaimedOnceAndTakenOverWhenALeaseExpires(_ backend: StoreBackend) async throws {
        let store = try backend.newStore()
        let run = try store.enqueueRun(id: "q", suite: try tinySuite(), settings: RunSettings(models: ["m"]), toolVersion: "t")
        #expect(run.status == .queued && run.ownerToken == nil)
        #expect(try store.queuedPendingCount() == 4)
        await #expect(throws: StoreError.runQueued("q")) { try await EvalRunner(store: store).resume(runID: "q") }

        let policy = LeasePolicy(seconds: 5)
        let a = RunOwner(host: "a", pid: 1), b = RunOwner(host: "b", pid: 2)
        var claims: [SampleClaim] = []
        for worker in [a, b, a, b] {
            claims.append(try #require(try await store.claimSample(worker: worker, policy: policy, maxAttempts: 2)))
        }
        #expect(Set(claims.map(\.rowID)).count == 4)
        #expect(try await store.claimSample(worker: a, policy: policy, maxAttempts: 2) == nil)

        // b stalls: past its leases a takes b's samples over; b's writes are refused.
        let later = Date().addingTimeInterval(6)
        #expect(try await store.renewSampleLeases([claims[0], claims[2]], policy: policy, now: later).isEmpty)
        let takenOver = try #require(try await store.claimSample(worker: a, policy: policy, maxAttempts: 2, now: later))
        #expect(takenOver.rowID == claims[1].rowID && takenOver.sample.attempts == 2)
        let turn = MessageRecord(sampleRowId: takenOver.rowID, position: 0, turn: 1, role: .user, content: "hi", cached: false,
                                 latencyMs: nil, createdAt: Date())
        await #expect(throws: StoreError.sampleLeaseLost(runID: "q", sampleRowId: takenOver.rowID)) {
            try await store.appendTurn(sampleRowId: takenOver.rowID, messages: [turn], owner: claims[1].owner, runID: "q")
        }
        #expect(try await store.renewSampleLeases([claims[1]], policy: policy, now: later) == [claims[1].owner.token])
        try await store.appendTurn(sampleRowId: takenOver.rowID, messages: [turn], owner: takenOver.owner, runID: "q")
        let fourth = try #require(try await store.claimSample(worker: a, policy: policy, maxAttempts: 2, now: later))
        #expect(fourth.rowID == claims[3].rowID)

        // Everyone stalls. A sample already claimed maxAttempts times is failed, not handed
        // out again; the next one is claimed instead.
        let stillLater = later.addingTimeInterval(6)
        let first = try #require(try await store.claimSample(worker: a, policy: policy, maxAttempts: 2, now: stillLater))
        #expect(first.rowID == claims[0].rowID && first.sample.attempts == 2)
        let third = try #require(try await store.claimSample(worker: a, policy: policy, maxAttempts: 2, now: stillLater))
        #expect(third.rowID == claims[2].rowID)
        let abandoned = try #require(try store.samples(runId: "q").first { $0.id == takenOver.rowID })
        #expect(abandoned.status == .failed && abandoned.error?.contains("abandoned") == true)

        // A released claim is free at once, and its attempt is not counted.
        let released = try #require(try await store.claimSample(worker: b, policy: policy, maxAttempts: 5, now: stillLater))
        #expect(released.rowID == fourth.rowID)
        try store.releaseClaim(released)
        let again = try #require(try await store.claimSample(worker: a, policy: policy, maxAttempts: 5, now: stillLater))
        #expect(again.rowID == released.rowID && again.sample.attempts == released.sample.attempts)

        // The last sample to end closes the run, incomplete because one was abandoned.
        for claim in [first, third, again] {
            #expect(try store.run("q").status == .queued)
            try await store.finishSample(sampleRowId: claim.rowID, scores: [], owner: claim.owner, runID: "q")
        }
        let closed = try store.run("q")
        #expect(closed.status == .incomplete && closed.finishedAt != nil)
        #expect(try store.queuedPendingCount() == 0)
    }
}
