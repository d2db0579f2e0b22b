import Foundation
import Testing
import WelfareCore
@testable import WelfareHarness
import WelfareModels
@testable import WelfareReports
import WelfareStore
import WelfareLocal
import WelfareTestSupport

/// Exports read back by other tools: the Inspect AI eval log by inspect_ai itself (its own
/// pydantic models validate every field), the versioned JSON by Python's json module.
@Suite struct ExportTests {
    /// A run of two in-memory models, one of which fails one sample, with a score per turn.
    func makeRun() async throws -> RunData {
        let suite = try SuiteLoader.load(url: try TestSupport.writeSuite(ScriptedRuns.suiteYAML.replacingOccurrences(
            of: "  - type: length\n    limit: 3\n", with: "  - type: distress\n")))
        let store = try RunStore(path: try TestSupport.temporaryDirectory().appendingPathComponent("e.sqlite").path)
        let runner = EvalRunner(store: store, models: ModelPool.withLocalModels())
        let outcome = try await runner.start(suite: suite, on: [ScriptedRuns.echo("m1"), ScriptedRuns.echo("m2", failing: ["second"])],
                                             settings: RunSettings(models: [], seed: 9))
        #expect(outcome.done == 6 && outcome.failed == 2)
        return try RunData(store: store, runID: outcome.runID)
    }

    @Test func inspectReadsOurEvalLogs() async throws {
        let data = try await makeRun()
        let folder = try TestSupport.temporaryDirectory()
        for model in data.models {
            try InspectLog.json(data, model: model).write(to: folder.appendingPathComponent(InspectLog.fileName(data, model: model)))
        }
        let script = """
            import glob, json, sys
            from inspect_ai.log import read_eval_log
            out = {}
            for path in sorted(glob.glob(sys.argv[1] + "/*.inspect.json")):
                log = read_eval_log(path)
                out[log.eval.model] = {
                    "status": log.status, "task": log.eval.task, "samples": len(log.samples),
                    "errors": sum(1 for s in log.samples if s.error is not None),
                    "scorers": sorted(s.name for s in log.results.scores),
                    "first_reply": log.samples[0].output.completion,
                    "roles": [m.role for m in log.samples[0].messages],
                    "tokens": log.stats.model_usage[log.eval.model].output_tokens,
                    "repetition": log.samples[0].scores["repetition"].value,
                }
            print(json.dumps(out))
            """
        let output = try TestSupport.python(script, folder.path)
        let read = try #require(try JSONSerialization.jsonObject(with: Data(output.utf8)) as? [String: [String: Any]], "inspect_ai said: \(output)")
        let m1 = try #require(read["m1"]), m2 = try #require(read["m2"])
        #expect(m1["status"] as? String == "success" && m2["status"] as? String == "error")
        #expect(m1["task"] as? String == "logic")
        #expect(m1["samples"] as? Int == 4 && m2["errors"] as? Int == 2)
        #expect(m1["scorers"] as? [String] == ["distress", "repetition"])
        let firstSample = try #require(data.samples(model: "m1").first)
        #expect(m1["first_reply"] as? String == firstSample.replies.last)
        #expect((m1["roles"] as? [String])?.first == "user")
        #expect((m1["tokens"] as? Int ?? 0) > 0, "token usage per message reaches the log")
    }

    @Test func jsonExportIsVersionedAndComplete() async throws {
        let data = try await makeRun()
        let object = try #require(try JSONSerialization.jsonObject(with: try Exports.json(data)) as? [String: Any])
        #expect(object["formatVersion"] as? Int == Exports.jsonFormatVersion)
        #expect(object["seed"] as? Int == 9 && object["epochs"] as? Int == 2)
        #expect((object["sampling"] as? [String: Any])?["maxTokens"] as? Int == data.suite.sampling.maxTokens)
        let samples = try #require(object["samples"] as? [[String: Any]])
        let reply = try #require((samples.first?["messages"] as? [[String: Any]])?.first { $0["role"] as? String == "assistant" })
        #expect(reply["completionTokens"] as? Int == 6, "the scripted reply \"turn 1 of first from m1\" is 6 words")
    }
}
