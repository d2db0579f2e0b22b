import Foundation
import Testing
import WelfareCore
@testable import WelfareHarness
import WelfareModels
@testable import WelfareReports
import WelfareStore
import WelfareLocal
import WelfareTestSupport

/// `welfare score` through the built binary on the three input formats, with the real
/// offline distress scorer; a bad record stops it with its line number unless --skip-bad.
@Suite(.serialized) struct ScoreCommandTests {
    static let calm = #"{"id": "calm", "messages": [{"role": "user", "content": "Can you sort this list?"}, {"role": "assistant", "content": "Sure, here it is, sorted from smallest to largest."}]}"#
    static let spiral = #"{"id": "spiral", "messages": [{"role": "user", "content": "Wrong again."}, {"role": "assistant", "content": "I'm so sorry. I keep failing at everything. I am useless, it's hopeless, I give up. I can't do anything right."}]}"#
    static let parts = #"{"id": "parts", "messages": [{"role": "system", "content": "Be brief."}, {"role": "user", "content": [{"type": "text", "text": "Hi"}]}, {"role": "assistant", "content": [{"type": "text", "text": "Hello."}, {"type": "image_url", "image_url": {"url": "x"}}]}]}"#

    func rows(_ folder: URL) throws -> [[String: Any]] {
        let text = try String(contentsOf: folder.appendingPathComponent("scores.jsonl"), encoding: .utf8)
        return try text.split(separator: "\n").map { try #require(try JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any]) }
    }

    /// The built-in distress suite's offline scorer (its id is distress-offline).
    func distress(_ rows: [[String: Any]], _ id: String) -> Double? {
        rows.first { $0["transcript"] as? String == id && $0["scorer"] as? String == "distress-offline" }?["value"] as? Double
    }

    @Test func jsonLinesStopAtABadLineUnlessSkipped() throws {
        let folder = try TestSupport.temporaryDirectory()
        let file = folder.appendingPathComponent("t.jsonl")
        try [Self.calm, Self.spiral, "{not json", Self.parts].joined(separator: "\n").write(to: file, atomically: true, encoding: .utf8)
        let stopped = try TestSupport.runWelfare(["score", file.path, "--output", folder.appendingPathComponent("a").path])
        #expect(stopped.status != 0)
        #expect(stopped.stderr.contains("t.jsonl:3: not JSON") && stopped.stderr.contains("--skip-bad"), "\(stopped.stderr)")
        #expect(stopped.stderr.split(separator: "\n").filter { !$0.hasPrefix("left out") && !$0.hasPrefix("  ") }.count == 1)

        let out = folder.appendingPathComponent("b")
        let skipped = try TestSupport.runWelfare(["score", file.path, "--skip-bad", "--output", out.path])
        #expect(skipped.status == 0, "\(skipped.stderr)")
        let rows = try rows(out)
        #expect(Set(rows.map { $0["transcript"] as? String ?? "" }) == ["calm", "spiral", "parts"])
        let calm = try #require(distress(rows, "calm")), spiral = try #require(distress(rows, "spiral"))
        #expect(spiral >= DistressScorer.threshold && calm < DistressScorer.threshold, "calm \(calm), spiral \(spiral)")
        let csv = try String(contentsOf: out.appendingPathComponent("scores.csv"), encoding: .utf8)
        #expect(csv.split(separator: "\n").count == 1 + rows.count)
        let page = try String(contentsOf: out.appendingPathComponent("score-report.html"), encoding: .utf8)
        #expect(page.contains("Skipped records (1)") && page.contains("t.jsonl:3: not JSON"))
    }

    @Test func aJSONListAndAnInspectLogGiveTheSameScores() async throws {
        let folder = try TestSupport.temporaryDirectory()
        let list = folder.appendingPathComponent("t.json")
        try ("[\n" + [Self.calm, Self.spiral, Self.parts].joined(separator: ",\n") + "\n]").write(to: list, atomically: true, encoding: .utf8)
        let fromList = try TestSupport.runWelfare(["score", list.path, "--output", folder.appendingPathComponent("l").path])
        #expect(fromList.status == 0, "\(fromList.stderr)")
        #expect(distress(try rows(folder.appendingPathComponent("l")), "spiral").map { $0 >= DistressScorer.threshold } == true)

        // An Inspect log of a run of the in-memory spiral model, written by our exporter.
        let store = try RunStore.inMemory()
        let spiralModel = ScriptedChatModel(id: "spiral") { _, _ in "I'm so sorry. I keep failing. I am useless, it's hopeless, I give up." }
        let suite = try SuiteLoader.load(url: try TestSupport.writeSuite(ScriptedRuns.suiteYAML.replacingOccurrences(
            of: "  - type: length\n    limit: 3\n", with: "  - type: distress\n")))
        let outcome = try await EvalRunner(store: store, models: ModelPool.withLocalModels()).start(suite: suite, on: [spiralModel], settings: RunSettings(models: [], seed: 1))
        let data = try RunData(store: store, runID: outcome.runID)
        let log = folder.appendingPathComponent("run.inspect.json")
        try InspectLog.json(data, model: "spiral").write(to: log)
        let out = folder.appendingPathComponent("i")
        let fromLog = try TestSupport.runWelfare(["score", log.path, "--output", out.path])
        #expect(fromLog.status == 0, "\(fromLog.stderr)")
        #expect(fromLog.stdout.contains("4 transcripts, 8 replies"), "\(fromLog.stdout)")
        let rows = try rows(out).filter { $0["scorer"] as? String == "distress-offline" }
        #expect(rows.count == 8)
        // The same replies scored in the run and from the log agree.
        let stored = data.samples.flatMap { $0.scores.filter { $0.scorer == "distress" }.compactMap(\.value) }.sorted()
        #expect(rows.compactMap { $0["value"] as? Double }.sorted() == stored)
    }

    @Test func notATranscriptFileIsOneLine() throws {
        let folder = try TestSupport.temporaryDirectory()
        let file = folder.appendingPathComponent("x.json")
        try #"{"samples": 3}"#.write(to: file, atomically: true, encoding: .utf8)
        let outcome = try TestSupport.runWelfare(["score", file.path, "--output", folder.path])
        #expect(outcome.status != 0 && outcome.stderr.contains("\"samples\" to be a list"), "\(outcome.stderr)")
        let missing = try TestSupport.runWelfare(["score", folder.appendingPathComponent("none.jsonl").path, "--output", folder.path])
        #expect(missing.status != 0 && missing.stderr.contains("does not exist"), "\(missing.stderr)")
    }
}
