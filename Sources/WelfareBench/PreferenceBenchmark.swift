import ArgumentParser
import Foundation
import WelfareCore
import WelfareModels
import WelfarePreferences
import WelfareLocal

/// Pairwise choices per second on the default model, read two ways: from the next-token
/// probabilities of the two letters (one forward pass), and from generated text parsed for
/// a letter (what a remote model gets: a prompt pass plus decoding). The same pairs, the
/// same model, one after the other in one process.
struct PreferenceBenchmark: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "preferences",
                                                    abstract: "Task choices/s: from P(A)/P(B) vs from generated text.")

    @Option(help: "Choices timed per path.")
    var choices: Int = 40
    @Option(help: "CPU threads.")
    var threads: Int = ProcessInfo.processInfo.activeProcessorCount

    /// The local model with its probabilities hidden, so choices go through the text path.
    struct TextOnly: ChatModel {
        let base: LocalChatModel
        var id: String { base.id }
        var maxConcurrency: Int { 1 }
        func complete(_ messages: [ChatMessage], settings: SamplingSettings) async throws -> ChatCompletion {
            try await base.complete(messages, settings: settings)
        }
        func describe() async -> [String: String] { await base.describe() }
    }

    func run() async throws {
        let model = try LocalChatModel.load(path: try DefaultModel.path(), options: AccessOptions(threads: threads))
        let tasks = try TaskBank.builtIn().tasks
        var generator = SeededGenerator(seed: 5)
        let pairs = (0..<choices).map { _ in
            let shuffled = tasks.shuffled(using: &generator)
            return (shuffled[0], shuffled[1])
        }
        let framing = PreferenceFraming.builtIn[0]
        _ = try await TaskPreferences.choose(model: model, first: pairs[0].0, second: pairs[0].1, framing: framing, round: 0)
        func time(_ chooser: any ChatModel) async throws -> (seconds: Double, unreadable: Int) {
            let started = Date()
            var unreadable = 0
            for (first, second) in pairs {
                let answer = try await TaskPreferences.choose(model: chooser, first: first, second: second, framing: framing, round: 0)
                if !answer.readable { unreadable += 1 }
            }
            return (Date().timeIntervalSince(started), unreadable)
        }
        let probabilities = try await time(model)
        let text = try await time(TextOnly(base: model))
        let rateP = Double(choices) / probabilities.seconds, rateT = Double(choices) / text.seconds
        print(String(format: "probabilities: %.2f choices/s (%d choices, %d unreadable)", rateP, choices, probabilities.unreadable))
        print(String(format: "generated text: %.2f choices/s (%d choices, %d unreadable, replies of at most 12 tokens, greedy)",
                     rateT, choices, text.unreadable))
        print(String(format: "probabilities / text: %.2fx", rateP / rateT))
    }
}
