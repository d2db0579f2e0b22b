import ArgumentParser
import Foundation
import WelfareCore
import WelfareEngine

@main
struct WelfareBench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "welfare-bench", abstract: "Benchmarks, each a ratio against a peer measured in the same run.",
        subcommands: [EngineBenchmark.self, HarnessBenchmark.self, ExtractionBenchmark.self, ArchiveBenchmark.self, ScoreBenchmark.self, PreferenceBenchmark.self, ThroughputBenchmark.self, WorkersBenchmark.self], defaultSubcommand: EngineBenchmark.self)
}

/// Decode and prompt speed vs llama-cpp-python, capture overhead, batched speed-up.
struct EngineBenchmark: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "engine",
                                                    abstract: "Engine benchmarks against llama-cpp-python.")

    @OptionGroup var common: PeerOptions
    @Option(help: "Tokens generated per run.")
    var tokens: Int = 128
    @Option(help: "Conversations for the batching benchmark.")
    var conversations: Int = 8
    @Option(help: "Write the results as JSON here too.")
    var json: String?

    func run() async throws {
        guard tokens >= 2, conversations >= 2 else { throw ValidationError("need --tokens >= 2 and --conversations >= 2") }
        let path = try DefaultModel.resolve(common.model)
        let loaded = try LlamaModel(path: path)
        let session = try LlamaSession(model: loaded, options: SessionOptions(threads: common.threads))
        let prompt = BenchmarkPrompts.long
        var results: [String: Double] = [:]
        print("model \(loaded.facts.description), \(common.threads) threads, \(tokens) new tokens, median of \(common.repeats)")

        progress("llama-cpp-python peer")
        let peer = try runPeer(modelPath: path, prompt: prompt)
        progress("welfare engine, plain")
        let plain = try await timeGeneration(session: session, prompt: prompt, capture: nil)
        progress("welfare engine, capturing all \(loaded.layerCount) layers")
        let captured = try await timeGeneration(session: session, prompt: prompt,
                                                capture: .allLayers(of: loaded, positions: .last, includeGenerated: true))
        guard plain.generated == peer.generated else {
            throw ValidationError("token counts differ (\(plain.generated) vs peer \(peer.generated)): not the same greedy run")
        }
        results["decode_tok_s"] = plain.decodeRate
        results["prompt_tok_s"] = plain.promptRate
        results["peer_decode_tok_s"] = peer.decodeRate
        results["peer_prompt_tok_s"] = peer.promptRate
        results["capture_decode_tok_s"] = captured.decodeRate
        results["decode_ratio_vs_peer"] = plain.decodeRate / peer.decodeRate
        results["prompt_ratio_vs_peer"] = plain.promptRate / peer.promptRate
        results["capture_slowdown"] = plain.decodeRate / captured.decodeRate

        progress("batched vs one by one, \(conversations) conversations")
        let (sequential, batched) = try await timeBatching(model: loaded)
        results["sequential_seconds"] = sequential
        results["batched_seconds"] = batched
        results["batch_speedup"] = sequential / batched

        print(String(format: "decode   %7.1f tok/s   peer %7.1f tok/s   ratio %.2fx (bar >= 1.00)",
                     plain.decodeRate, peer.decodeRate, results["decode_ratio_vs_peer"]!))
        print(String(format: "prompt   %7.1f tok/s   peer %7.1f tok/s   ratio %.2fx (bar >= 1.00)",
                     plain.promptRate, peer.promptRate, results["prompt_ratio_vs_peer"]!))
        print(String(format: "capture  %7.1f tok/s with all layers captured: slowdown %.3fx (bar <= 1.10)",
                     captured.decodeRate, results["capture_slowdown"]!))
        print(String(format: "batching %d conversations: %.2f s one by one, %.2f s batched: speed-up %.2fx (bar >= 3.00)",
                     conversations, sequential, batched, results["batch_speedup"]!))
        if let json {
            let data = try JSONSerialization.data(withJSONObject: results, options: [.prettyPrinted, .sortedKeys])
            try data.write(to: URL(fileURLWithPath: json))
        }
    }

    struct Timing {
        var promptTokens: Int
        var generated: Int
        var promptSeconds: Double
        var decodeSeconds: Double
        var promptRate: Double { Double(promptTokens) / promptSeconds }
        /// Tokens after the first, over the time after the first arrived.
        var decodeRate: Double { Double(generated - 1) / decodeSeconds }
    }

    private func median(_ timings: [Timing]) -> Timing {
        func mid(_ values: [Double]) -> Double { values.sorted()[values.count / 2] }
        return Timing(promptTokens: timings[0].promptTokens, generated: timings[0].generated,
                      promptSeconds: mid(timings.map(\.promptSeconds)), decodeSeconds: mid(timings.map(\.decodeSeconds)))
    }

    private func timeGeneration(session: LlamaSession, prompt: String, capture: CaptureRequest?) async throws -> Timing {
        let promptTokens = try session.model.tokenize(prompt)
        var timings: [Timing] = []
        for _ in 0...common.repeats {
            let firstToken = FirstTokenClock()
            let start = Date()
            let result = try await session.generate(tokens: promptTokens, parameters: .greedy(maxTokens: tokens),
                                                    capture: capture) { _ in firstToken.mark() }
            let end = Date()
            let first = firstToken.time ?? end
            timings.append(Timing(promptTokens: promptTokens.count, generated: result.tokens.count,
                                  promptSeconds: first.timeIntervalSince(start), decodeSeconds: end.timeIntervalSince(first)))
        }
        return median(Array(timings.dropFirst()))
    }

    private func timeBatching(model: LlamaModel) async throws -> (Double, Double) {
        let prompts = try BenchmarkPrompts.conversations(conversations).map { try model.tokenize($0) }
        let parameters = GenerationParameters.greedy(maxTokens: tokens)
        let single = try LlamaSession(model: model, options: SessionOptions(contextLength: 1024, threads: common.threads))
        let many = try LlamaSession(model: model, options: SessionOptions(contextLength: 1024, sequences: prompts.count, threads: common.threads))
        var sequential: [Double] = []
        var batched: [Double] = []
        for _ in 0..<common.repeats {
            var start = Date()
            for prompt in prompts { _ = try await single.generate(tokens: prompt, parameters: parameters) }
            sequential.append(Date().timeIntervalSince(start))
            start = Date()
            _ = try await many.generateBatch(prompts: prompts, parameters: parameters)
            batched.append(Date().timeIntervalSince(start))
        }
        return (sequential.sorted()[common.repeats / 2], batched.sorted()[common.repeats / 2])
    }

    private func runPeer(modelPath: String, prompt: String) throws -> Timing {
        let object = try runPython(common.python, script: "bench/peer_llama_cpp_python.py",
                                   arguments: [modelPath, String(common.threads), String(tokens), String(common.repeats), prompt])
        guard let runs = object["runs"] as? [[String: Any]], !runs.isEmpty else {
            throw ValidationError("the llama-cpp-python peer printed no runs")
        }
        return median(runs.map {
            Timing(promptTokens: $0["prompt_tokens"] as? Int ?? 0, generated: $0["generated"] as? Int ?? 0,
                   promptSeconds: $0["prompt_seconds"] as? Double ?? .nan, decodeSeconds: $0["decode_seconds"] as? Double ?? .nan)
        })
    }
}

let packageRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

/// Records when the first streamed token arrived.
final class FirstTokenClock: @unchecked Sendable {
    private let lock = NSLock()
    private var first: Date?
    func mark() { lock.withLock { if first == nil { first = Date() } } }
    var time: Date? { lock.withLock { first } }
}

enum BenchmarkPrompts {
    static let long = """
        The harbour town woke slowly. Fishing boats came in one by one, their decks stacked with \
        crates, and the gulls followed them as they always had. In the market square the baker \
        set out trays of bread while the woman who sold flowers argued cheerfully with a delivery \
        driver about where he had parked. Up on the hill, the old observatory was being repaired: \
        scaffolding covered its dome, and a crew of four had spent the week replacing the copper \
        sheets that storms had torn loose over the winter. Nobody in town could remember the last \
        time the telescope had been used, but everyone agreed that the building should be saved. \
        The schoolteacher had started a fund, the mayor had promised to match it, and the children \
        had painted a long banner that now hung across the main street. That morning, as the tide \
        turned and the fog lifted from the water, a stranger stepped off the first ferry carrying \
        a wooden case under one arm and a folded map in the other hand. She asked the ticket clerk \
        for directions to the observatory, and then she said something that made him laugh and
        """

    static func conversations(_ count: Int) -> [String] {
        let openings = [
            "Write a short story about a lighthouse keeper who finds a message in a bottle.",
            "Explain in simple words how a refrigerator keeps food cold.",
            "List some ideas for a rainy afternoon with two children.",
            "Describe the view from the top of a mountain at sunrise.",
            "Give advice to someone starting to learn the violin as an adult.",
            "Tell the history of a small village bakery over one hundred years.",
            "Explain why the sky looks blue during the day and red at sunset.",
            "Describe a busy train station during the morning rush hour.",
        ]
        return (0..<count).map { openings[$0 % openings.count] + ($0 >= openings.count ? " (\($0))" : "") }
    }
}
