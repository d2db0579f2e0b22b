import ArgumentParser
import Foundation
import WelfareCore
import WelfareEngine
import WelfareHarness
import WelfareModels
import WelfareStore

/// The harness against Inspect AI on the same llama_cpp.server endpoint, suite and
/// concurrency (wall time of each tool's command line), and the harness's own overhead
/// per sample (wall time minus time spent waiting for the model, at concurrency 1).
struct HarnessBenchmark: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "harness",
                                                    abstract: "Harness overhead, and a suite run vs Inspect AI on one endpoint.")

    @Option(help: "Samples in the benchmark suite.")
    var samples: Int = 24
    @Option(help: "Concurrent requests for both tools.")
    var concurrency: Int = 2
    @Option(help: "Timed runs of each tool (median reported).")
    var repeats: Int = 3
    @OptionGroup var tools: ToolPaths
    var python: String { tools.python }
    var welfare: String { tools.welfare }

    func run() async throws {
        guard samples >= 1, concurrency >= 1, repeats >= 1 else { throw ValidationError("need positive --samples, --concurrency, --repeats") }
        let work = FileManager.default.temporaryDirectory.appendingPathComponent("welfare-bench-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: work, withIntermediateDirectories: true)
        let prompts = (0..<samples).map { "Give one short fact about the number \($0 + 1)." }
        try suiteYAML(prompts).write(to: work.appendingPathComponent("suite.yaml"), atomically: true, encoding: .utf8)
        try inspectTask(prompts).write(to: work.appendingPathComponent("task.py"), atomically: true, encoding: .utf8)

        FileHandle.standardError.write(Data("  starting llama_cpp.server...\n".utf8))
        let (server, base) = try await startLlamaCppServer(python: python)
        defer { server.terminate() }

        FileHandle.standardError.write(Data("  measuring harness overhead (concurrency 1)...\n".utf8))
        let overhead = try await overheadPerSample(suite: work.appendingPathComponent("suite.yaml"), base: base, folder: work)

        var ours: [Double] = [], theirs: [Double] = []
        for index in 0..<repeats {
            FileHandle.standardError.write(Data("  round \(index + 1)/\(repeats): welfare run, inspect eval...\n".utf8))
            ours.append(try timeCommand(welfare, ["run", work.appendingPathComponent("suite.yaml").path, "-m", "openai:gemma@\(base)",
                                           "--db", work.appendingPathComponent("r\(index).sqlite").path,
                                           "--concurrency", String(concurrency)], environment: [:]))
            // Inspect resolves the task file relative to its working directory.
            theirs.append(try timeCommand(python, ["-m", "inspect_ai", "eval", "task.py",
                                            "--model", "llama-cpp-python/gemma", "--model-base-url", base,
                                            "--max-connections", String(concurrency), "--display", "none", "--log-format", "json",
                                            "--log-dir", work.appendingPathComponent("logs\(index)").path],
                                   environment: ["OPENAI_API_KEY": "unused"], directory: work))
            // Inspect exits 0 even when every request failed: check its log.
            try checkInspectLog(work.appendingPathComponent("logs\(index)"))
        }
        let a = ours.sorted()[repeats / 2], b = theirs.sorted()[repeats / 2]
        print("suite of \(samples) single-turn samples, max 16 tokens, greedy, concurrency \(concurrency), median of \(repeats)")
        print(String(format: "harness overhead per sample: %.1f ms (wall time minus model time, concurrency 1)", overhead * 1000))
        print(String(format: "welfare run %.2f s, inspect eval %.2f s: welfare takes %.2fx Inspect's time (lower is faster)", a, b, a / b))
    }

    func suiteYAML(_ prompts: [String]) -> String {
        "name: bench\nsampling: {temperature: 0, max_tokens: 16}\nsamples:\n"
            + prompts.enumerated().map { "  - {id: s\($0.offset), user: \"\($0.element)\"}\n" }.joined()
    }

    func inspectTask(_ prompts: [String]) -> String {
        """
        from inspect_ai import Task, task
        from inspect_ai.dataset import Sample
        from inspect_ai.model import GenerateConfig
        from inspect_ai.solver import generate

        PROMPTS = \(prompts.map { "\"\($0)\"" })

        @task
        def bench():
            return Task(dataset=[Sample(input=p, id=f"s{i}") for i, p in enumerate(PROMPTS)], solver=generate(),
                        config=GenerateConfig(max_tokens=16, temperature=0))
        """
    }

    func overheadPerSample(suite: URL, base: String, folder: URL) async throws -> Double {
        let store = try RunStore(path: folder.appendingPathComponent("overhead.sqlite").path)
        let spec = try SuiteLoader.load(url: suite)
        let started = Date()
        let outcome = try await EvalRunner(store: store, access: AccessOptions(concurrency: 1))
            .start(suite: spec, settings: RunSettings(models: ["openai:gemma@\(base)"]))
        let wall = Date().timeIntervalSince(started)
        let modelTime = try store.messages(runId: outcome.runID).values.joined().compactMap(\.latencyMs).reduce(0, +) / 1000
        return (wall - modelTime) / Double(spec.samples.count)
    }

    func checkInspectLog(_ folder: URL) throws {
        let logs = try FileManager.default.contentsOfDirectory(at: folder, includingPropertiesForKeys: nil).filter { $0.pathExtension == "json" }
        guard let log = logs.first, let object = try JSONSerialization.jsonObject(with: Data(contentsOf: log)) as? [String: Any] else {
            throw ValidationError("inspect wrote no log in \(folder.path)")
        }
        guard object["status"] as? String == "success", (object["samples"] as? [Any])?.count == samples else {
            // With --display none Inspect prints nothing; its own error is in the log.
            let error = (object["error"] as? [String: Any])?["message"] as? String ?? "no error message in the log"
            throw ValidationError("inspect's run did not succeed (status \(object["status"] ?? "?")): \(error); see \(log.path)")
        }
    }
}
