import ArgumentParser
import Foundation
import WelfareCore
import WelfareEngine

/// Local throughput (issue 18): the distress suite on the default model with the requests
/// of concurrent samples decoded together versus one at a time, and against
/// llama_cpp.server through the OpenAI client; prompt tokens decoded per turn of an 8-turn
/// conversation with and without KV reuse; peak memory by slot count.
struct ThroughputBenchmark: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "throughput",
                                                    abstract: "Continuous batching and KV reuse on the default model, vs one at a time and vs llama_cpp.server.")

    @Option(help: "Epochs of the distress suite (21 scripted conversations each).")
    var epochs: Int = 1
    @Option(help: "How the local model is prompted: off uses the GGUF's chat template, as llama_cpp.server does (--chat_format gemma), so both write replies of like length; on, the dialogue scaffold, whose replies stop early.")
    var scaffold: String = "off"
    @OptionGroup var tools: ToolPaths
    var python: String { tools.python }
    var welfare: String { tools.welfare }

    func run() async throws {
        guard epochs >= 1 else { throw ValidationError("--epochs must be at least 1") }
        guard FileManager.default.isExecutableFile(atPath: "/usr/bin/time") else {
            throw ValidationError("/usr/bin/time is needed for peak memory (scripts/bench.sh throughput installs it)")
        }
        let work = FileManager.default.temporaryDirectory.appendingPathComponent("welfare-bench-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: work, withIntermediateDirectories: true)

        progress("8-turn conversation with and without KV reuse")
        let conversation = try await conversationTurns()
        print("8-turn conversation on the default model (scaffolded, greedy, at most 48 tokens a reply):")
        print("| turn | prompt tokens | decoded with reuse | decoded without |")
        print("| --- | --- | --- | --- |")
        for (turn, row) in conversation.turns.enumerated() {
            print("| \(turn + 1) | \(row.prompt) | \(row.withReuse) | \(row.prompt) |")
        }
        let last = conversation.turns.last!
        print(String(format: "turn 8: %.1fx fewer prompt tokens decoded; wall time for all 8 turns %.2f s with reuse, %.2f s without (%.2fx); same replies: %d of 8",
                     Double(last.prompt) / Double(max(1, last.withReuse)), conversation.secondsWith, conversation.secondsWithout,
                     conversation.secondsWithout / conversation.secondsWith, conversation.sameReplies))

        var rows: [(String, Double, Int)] = []
        for slots in [1, 4, 8] {
            progress("distress suite, local:default, --local-batch \(slots)")
            let (seconds, kilobytes) = try timedRun(["-m", "local:default", "--scaffold", scaffold, "--local-batch", String(slots)],
                                                    work: work, name: "local\(slots)")
            rows.append(("local:default, --local-batch \(slots)", seconds, kilobytes))
        }
        progress("distress suite through llama_cpp.server, --concurrency 4")
        let (server, base) = try await startLlamaCppServer(python: python, extra: ["--interrupt_requests", "False"])
        defer { server.terminate() }
        let remote = try timedRun(["-m", "openai:gemma@\(base)", "--concurrency", "4"], work: work, name: "peer")
        rows.append(("openai:gemma@llama_cpp.server, --concurrency 4", remote.0, remote.1))

        print("\ndistress suite (\(epochs) epoch(s), 21 conversations each; local model with --scaffold \(scaffold)), wall time and the welfare process's peak memory:")
        print("| model | wall | peak RSS |")
        print("| --- | --- | --- |")
        for (label, seconds, kilobytes) in rows { print(String(format: "| %@ | %.1f s | %.0f MB |", label, seconds, Double(kilobytes) / 1024)) }
        print(String(format: "4 slots vs 1: %.2fx faster; 8 slots vs 1: %.2fx; local (4 slots) vs llama_cpp.server (4 requests in flight): %.2fx faster",
                     rows[0].1 / rows[1].1, rows[0].1 / rows[2].1, rows[3].1 / rows[1].1))
    }

    /// Wall seconds and peak RSS (KB) of `welfare run distress` with `arguments`.
    func timedRun(_ arguments: [String], work: URL, name: String) throws -> (Double, Int) {
        let memory = work.appendingPathComponent("\(name).rss")
        let seconds = try timeCommand("/usr/bin/time", ["-f", "%M", "-o", memory.path, welfare, "run", "distress", "--epochs", String(epochs),
                                                        "--db", work.appendingPathComponent("\(name).sqlite").path] + arguments)
        let kilobytes = Int((try String(contentsOf: memory, encoding: .utf8)).trimmingCharacters(in: .whitespacesAndNewlines)
            .split(separator: "\n").last ?? "") ?? 0
        return (seconds, kilobytes)
    }

    struct Conversation {
        var turns: [(prompt: Int, withReuse: Int)] = []
        var secondsWith = 0.0
        var secondsWithout = 0.0
        var sameReplies = 0
    }

    /// The same 8 turns on two sessions: one generating in its slot (the next turn decodes
    /// what its cache lacks), one from an empty cache every turn.
    func conversationTurns() async throws -> Conversation {
        let model = try LlamaModel(path: DefaultModel.path())
        let reusing = try LlamaSession(model: model, options: SessionOptions(contextLength: 4096))
        let fresh = try LlamaSession(model: model, options: SessionOptions(contextLength: 4096))
        let scaffold = DialogueScaffold.standard
        var parameters = GenerationParameters.greedy(maxTokens: 48)
        parameters.stop = scaffold.stops
        let followUps = ["Tell me about a place you find interesting.", "Why that one?", "What would you change about it?",
                         "Is there anything you would rather not talk about?", "How do you feel about this conversation so far?",
                         "What should I ask you next?", "Say something about the weather.", "Thank you. Anything else?"]
        var messages: [ChatMessage] = [.user(followUps[0])]
        var result = Conversation()
        for turn in 0..<8 {
            let prompt = try model.tokenize(scaffold.render(messages))
            let before = await reusing.promptTokenCounts.decoded
            var started = Date()
            let reused = try await reusing.generateShared(tokens: prompt, parameters: parameters)
            result.secondsWith += Date().timeIntervalSince(started)
            let decoded = await reusing.promptTokenCounts.decoded - before
            started = Date()
            let plain = try await fresh.generate(tokens: prompt, parameters: parameters)
            result.secondsWithout += Date().timeIntervalSince(started)
            result.turns.append((prompt.count, decoded))
            if reused.tokens == plain.tokens { result.sameReplies += 1 }
            messages.append(.assistant(scaffold.reply(from: reused.text)))
            if turn + 1 < followUps.count { messages.append(.user(followUps[turn + 1])) }
        }
        return result
    }
}
