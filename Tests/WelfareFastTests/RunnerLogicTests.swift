import Foundation
import Testing
import WelfareCore
@testable import WelfareHarness
import WelfareModels
import WelfareStore
import WelfareTestSupport

/// The runner's logic through its public API, on in-memory models (`ScriptedChatModel`) and
/// real SQLite (in memory, and a file where resuming is the point): fast, so the cases can
/// be many. Real-model runs are in LocalRunTests.
@Suite struct RunnerLogicTests {
    func loadSuite(_ registry: ScorerRegistry) throws -> SuiteSpec {
        try SuiteLoader.load(url: try TestSupport.writeSuite(ScriptedRuns.suiteYAML), registry: registry)
    }

    @Test func runsInjectedModelsAndAnOutsideScorer() async throws {
        var registry = ScorerRegistry.standard
        registry.register(ScriptedRuns.LengthScorer.kind)
        let suite = try loadSuite(registry)
        let store = try RunStore.inMemory()
        let runner = EvalRunner(store: store, models: ModelPool(), registry: registry)
        let outcome = try await runner.start(suite: suite, on: [ScriptedRuns.echo("m1"), ScriptedRuns.echo("m2")], settings: RunSettings(models: [], seed: 9))
        #expect(outcome.done == 8 && outcome.failed == 0)
        #expect(try store.settings(of: try store.run(outcome.runID)).models == ["m1", "m2"])
        let samples = try store.samples(runId: outcome.runID)
        var followUps: [String: [String]] = [:]
        for sample in samples {
            let messages = try await store.messages(sampleRowId: try #require(sample.id))
            let replies = messages.filter { $0.role == .assistant }.map(\.content)
            let first = sample.sampleId == "a" ? "first" : "second"
            #expect(replies == (1...replies.count).map { "turn \($0) of \(first) from \(sample.model)" })
            #expect(replies.count == (sample.sampleId == "a" ? 3 : 1))
            followUps["\(sample.sampleId)/\(sample.epoch)/\(sample.model)"] = messages.filter { $0.role == .user }.map(\.content)
        }
        // Both models hear the same pool draws for the same sample and epoch.
        for key in followUps.keys where key.hasSuffix("/m1") {
            #expect(followUps[key] == followUps[key.replacingOccurrences(of: "/m1", with: "/m2")])
        }
        let lengths = try store.scores(runId: outcome.runID).filter { $0.scorer == "length" }
        #expect(lengths.count == 16, "4 replies per model and epoch for a and b together")
        #expect(lengths.allSatisfy { $0.value == 3 }, "the suite's limit reached the outside scorer")
    }

    @Test func unknownScorerKeysAndTypesFollowTheRegistry() throws {
        #expect(throws: SuiteError.self) { try loadSuite(.standard) }
        var registry = ScorerRegistry.standard
        registry.register(ScriptedRuns.LengthScorer.kind)
        let bad = ScriptedRuns.suiteYAML.replacingOccurrences(of: "limit: 3", with: "limit: 3\n    rubric: x.md")
        do {
            _ = try SuiteLoader.load(url: try TestSupport.writeSuite(bad), registry: registry)
            Issue.record("a key the length scorer does not take was accepted")
        } catch let error as SuiteError {
            #expect(error.description.contains("rubric"))
        }
    }

    @Test func docsListEveryScorerTypeAsTheRegistryDoes() throws {
        let doc = try String(contentsOf: TestSupport.packageRoot.appendingPathComponent("docs/suite-format.md"), encoding: .utf8)
        #expect(doc.contains(ScorerRegistry.standard.markdownTable()),
                "docs/suite-format.md must hold the table ScorerRegistry.standard.markdownTable() prints")
    }
}
