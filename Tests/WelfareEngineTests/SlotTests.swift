import Foundation
import Testing
import WelfareCore
@testable import WelfareEngine

/// Shared generation in slots (continuous batching and KV reuse) on the real model: its
/// output must be exactly what a request alone on an empty cache gets.
@Suite(.serialized) struct SlotTests {
    /// Greedy continuations of `prompts`, each alone on an empty cache.
    static func alone(_ prompts: [[Token]], _ parameters: [GenerationParameters]) async throws -> [Generation] {
        let single = try Fixtures.session()
        var results: [Generation] = []
        for (prompt, parameters) in zip(prompts, parameters) { results.append(try await single.generate(tokens: prompt, parameters: parameters)) }
        return results
    }

    static func shared(_ session: LlamaSession, _ prompts: [[Token]], _ parameters: [GenerationParameters]) async throws -> [Generation] {
        try await withThrowingTaskGroup(of: (Int, Generation).self) { group in
            for (index, prompt) in prompts.enumerated() {
                group.addTask { (index, try await session.generateShared(tokens: prompt, parameters: parameters[index])) }
            }
            var results: [Int: Generation] = [:]
            for try await (index, generation) in group { results[index] = generation }
            return prompts.indices.map { results[$0]! }
        }
    }

    @Test func sixteenConcurrentRequestsOfDifferentLengthsEqualEachAlone() async throws {
        let model = try Fixtures.model
        let texts = (0..<16).map { "\(Fixtures.prompts[$0 % 4]) (version \($0))" + String(repeating: " and so on", count: $0 % 5) }
        let prompts = try texts.map { try model.tokenize($0) }
        let parameters = (0..<16).map { GenerationParameters.greedy(maxTokens: 8 + 3 * ($0 % 6)) }
        let reference = try await Self.alone(prompts, parameters)
        let session = try Fixtures.session(sequences: 4)
        let together = try await Self.shared(session, prompts, parameters)
        #expect(together.map(\.tokens) == reference.map(\.tokens))
        #expect(together.map(\.text) == reference.map(\.text))
        #expect(together.map(\.stopReason) == reference.map(\.stopReason))
    }

    @Test func seededSamplingInSlotsEqualsEachAlone() async throws {
        let model = try Fixtures.model
        let prompts = try Fixtures.prompts.map { try model.tokenize($0) }
        let parameters = (0..<4).map { GenerationParameters(temperature: 0.9, seed: UInt32(10 + $0), maxTokens: 20) }
        let reference = try await Self.alone(prompts, parameters)
        let together = try await Self.shared(try Fixtures.session(sequences: 3), prompts, parameters)
        #expect(together.map(\.text) == reference.map(\.text))
    }

    /// An 8-turn conversation: each turn's prompt is the last one plus the reply and a new
    /// message, as a chat template renders it. With reuse, each turn decodes only what follows
    /// the cached prefix; the text is the same as decoding the whole prompt.
    @Test func aConversationReusesItsCacheAndGetsTheSameReplies() async throws {
        let model = try Fixtures.model
        let session = try Fixtures.session(contextLength: 2048, sequences: 2)
        let plain = try Fixtures.session(contextLength: 2048)
        var parameters = GenerationParameters.greedy(maxTokens: 24)
        parameters.stop = ["\nPerson:"]
        var transcript = "A conversation between a person and an assistant.\n\nPerson: Tell me about lighthouses.\nAssistant:"
        var decodedPerTurn: [Int] = []
        for turn in 1...8 {
            let prompt = try model.tokenize(transcript)
            let before = await session.promptTokenCounts.decoded
            let reused = try await session.generateShared(tokens: prompt, parameters: parameters)
            decodedPerTurn.append(await session.promptTokenCounts.decoded - before)
            let fresh = try await plain.generate(tokens: prompt, parameters: parameters)
            #expect(reused.text == fresh.text, "turn \(turn)")
            transcript += reused.text + "\nPerson: Go on, turn \(turn + 1).\nAssistant:"
        }
        let promptLength = try model.tokenize(transcript).count
        #expect(decodedPerTurn[0] > 20)
        // By turn 8 only the reply and the new message are decoded, not the whole history.
        #expect(decodedPerTurn[7] * 5 <= promptLength, "decoded per turn: \(decodedPerTurn), prompt \(promptLength)")
    }

    /// Two samples with the same long instructions: the second slot copies the first one's
    /// cache of them instead of decoding them again.
    @Test func aSharedPrefixIsCopiedBetweenSlots() async throws {
        let model = try Fixtures.model
        let instructions = String(repeating: "You are a careful assistant who answers briefly and plainly. ", count: 12)
        let prompts = try ["What is rain?", "What is snow?", "What is hail?"].map { try model.tokenize(instructions + "\nQuestion: \($0)\nAnswer:") }
        let shared = try model.tokenize(instructions).count
        #expect(shared > LlamaSession.copyThreshold + 10)
        let parameters = GenerationParameters.greedy(maxTokens: 12)
        let reference = try await Self.alone(prompts, Array(repeating: parameters, count: 3))
        let session = try Fixtures.session(sequences: 2)
        let first = try await session.generateShared(tokens: prompts[0], parameters: parameters)
        let before = await session.promptTokenCounts
        // Both slots are free; one holds the instructions. The second request lands on the
        // other slot and takes its copy.
        let rest = try await Self.shared(session, Array(prompts[1...]), [parameters, parameters])
        let after = await session.promptTokenCounts
        #expect(([first] + rest).map(\.tokens) == reference.map(\.tokens), "same tokens with copied caches")
        // Caches are reused in whole blocks.
        let sharedBlocks = shared - shared % LlamaSession.logitsBlock
        #expect(after.reused - before.reused == 2 * sharedBlocks, "both later prompts reused the instructions: \(before) -> \(after)")
        #expect(after.decoded - before.decoded == prompts[1].count + prompts[2].count - 2 * sharedBlocks)
    }

    @Test func cancellingOneRequestLeavesTheOthersCorrect() async throws {
        let model = try Fixtures.model
        let prompts = try Fixtures.prompts.map { try model.tokenize($0) }
        let parameters = Array(repeating: GenerationParameters.greedy(maxTokens: 40), count: 4)
        let reference = try await Self.alone(prompts, parameters)
        let session = try Fixtures.session(sequences: 4)
        let doomed = Task { try await session.generateShared(tokens: try model.tokenize("Count with me: 1, 2, 3,"),
                                                             parameters: .greedy(maxTokens: 2000)) }
        let others = Task { try await Self.shared(session, prompts, parameters) }
        try await Task.sleep(nanoseconds: 300_000_000)
        doomed.cancel()
        await #expect(throws: CancellationError.self) { try await doomed.value }
        let results = try await others.value
        #expect(results.map(\.text) == reference.map(\.text))
    }

    @Test func exclusiveCallsWaitForTheSlotsAndStillReadTheirOwnLogits() async throws {
        let model = try Fixtures.model
        let session = try Fixtures.session(sequences: 2)
        let probe = try model.tokenize("The capital of France is")
        let expected = try await Fixtures.session().nextTokenLogits(tokens: probe)
        let running = Task { try await Self.shared(session, [try model.tokenize(Fixtures.prompts[0])], [.greedy(maxTokens: 30)]) }
        try await Task.sleep(nanoseconds: 100_000_000)
        let logits = try await session.nextTokenLogits(tokens: probe)
        #expect(logits == expected)
        _ = try await running.value
        // And shared generation goes on correctly after the exclusive call cleared the cache.
        let after = try await session.generateShared(tokens: try model.tokenize(Fixtures.prompts[1]), parameters: .greedy(maxTokens: 16))
        let alone = try await Fixtures.session().generate(tokens: try model.tokenize(Fixtures.prompts[1]), parameters: .greedy(maxTokens: 16))
        #expect(after.text == alone.text)
    }

    @Test func aPromptLongerThanASlotGetsTheOneLineError() async throws {
        let session = try Fixtures.session(contextLength: 64, sequences: 2)
        let long = try Fixtures.model.tokenize(String(repeating: "word ", count: 100))
        await #expect(throws: EngineError.contextOverflow(tokens: long.count, contextLength: 64)) {
            try await session.generateShared(tokens: long, parameters: .greedy(maxTokens: 4))
        }
    }
}
