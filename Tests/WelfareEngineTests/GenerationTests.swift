import Foundation
import Testing
import WelfareCore
@testable import WelfareEngine

@Suite(.serialized) struct GenerationTests {
    @Test func sameSeedGivesSameTextAndSeedsMatter() async throws {
        let session = try Fixtures.session()
        let parameters = GenerationParameters(temperature: 1.0, topP: 0.95, topK: 40, seed: 42, maxTokens: 24)
        let first = try await session.generate(prompt: Fixtures.prompts[0], parameters: parameters)
        let second = try await session.generate(prompt: Fixtures.prompts[0], parameters: parameters)
        #expect(first.tokens == second.tokens)
        #expect(first.text == second.text)
        #expect(first.tokens.count == 24)
        var texts: Set<String> = []
        for seed in UInt32(1)...4 {
            var other = parameters
            other.seed = seed
            texts.insert(try await session.generate(prompt: Fixtures.prompts[0], parameters: other).text)
        }
        #expect(texts.count > 1, "different seeds should not all give the same sample at temperature 1")
    }

    @Test func greedyMatchesTheArgmaxOfTheLogits() async throws {
        let model = try Fixtures.model
        let session = try Fixtures.session()
        let tokens = try model.tokenize(Fixtures.prompts[1])
        let logits = try await session.nextTokenLogits(tokens: tokens)
        #expect(logits.count == model.facts.vocabularySize)
        let argmax = Token(logits.indices.max { logits[$0] < logits[$1] }!)
        let generation = try await session.generate(tokens: tokens, parameters: .greedy(maxTokens: 1))
        #expect(generation.tokens == [argmax])
    }

    /// Calls that share a prefix keep its cache; the logits must be exactly those from an
    /// empty cache, or a resumed run would read its choices differently.
    @Test func logitsAreTheSameWithAndWithoutTheSharedPrefixCache() async throws {
        let model = try Fixtures.model
        let session = try Fixtures.session()
        // Long enough to span whole blocks of the kept cache.
        let shared = try model.tokenize(String(repeating: Fixtures.prompts[2] + " water them in the morning, ", count: 12))
        #expect(shared.count > 2 * LlamaSession.logitsBlock)
        let first = shared + (try model.tokenize("mulch the beds and", addSpecial: false))
        let second = shared + (try model.tokenize("plant in spring, and", addSpecial: false))
        _ = try await session.nextTokenLogits(tokens: first)
        let reused = try await session.nextTokenLogits(tokens: second)
        let again = try await session.nextTokenLogits(tokens: second)
        _ = try await session.generate(tokens: first, parameters: .greedy(maxTokens: 2))
        let fresh = try await session.nextTokenLogits(tokens: second)
        #expect(reused == fresh && again == fresh)
        // A shorter prompt that is a prefix of the cached one is cut back, not read past.
        let short = try await session.nextTokenLogits(tokens: shared)
        _ = try await session.generate(tokens: first, parameters: .greedy(maxTokens: 1))
        #expect(try await session.nextTokenLogits(tokens: shared) == short)
        // A different prompt after them shares nothing and still reads right.
        let other = try model.tokenize(Fixtures.prompts[0])
        _ = try await session.nextTokenLogits(tokens: second)
        let afterOthers = try await session.nextTokenLogits(tokens: other)
        _ = try await session.generate(tokens: first, parameters: .greedy(maxTokens: 1))
        #expect(try await session.nextTokenLogits(tokens: other) == afterOthers)
    }

    @Test func logprobsAreNormalisedAndRanked() async throws {
        let session = try Fixtures.session()
        var parameters = GenerationParameters.greedy(maxTokens: 6)
        parameters.topLogprobs = 5
        let generation = try await session.generate(prompt: Fixtures.prompts[1], parameters: parameters)
        let steps = try #require(generation.logprobs)
        #expect(steps.count == generation.tokens.count)
        for step in steps {
            let top = step.topLogprobs
            #expect(top.count == 5)
            #expect(top.map(\.logprob) == top.map(\.logprob).sorted(by: >))
            #expect(top[0].token == step.token, "greedy picks the most likely token")
            #expect(abs((step.logprob ?? 1) - top[0].logprob) < 1e-5)
            let mass = top.map { exp(Double($0.logprob)) }.reduce(0, +)
            #expect(mass > 0 && mass <= 1.0001)
        }
    }

    @Test func streamingDeliversTheSameTextAsTheResult() async throws {
        let session = try Fixtures.session()
        let collected = Collector()
        let generation = try await session.generate(prompt: Fixtures.prompts[3], parameters: .greedy(maxTokens: 20)) {
            collected.append($0.text)
        }
        #expect(collected.text == generation.text)
        #expect(!generation.text.isEmpty)
    }

    @Test func stopStringsEndGenerationAndAreCut() async throws {
        let session = try Fixtures.session()
        let free = try await session.generate(prompt: Fixtures.prompts[2], parameters: .greedy(maxTokens: 40))
        // Stop at the second word the model itself produced, so the stop string is known to occur.
        let words = free.text.split(separator: " ")
        let stop = String(try #require(words.dropFirst().first))
        var parameters = GenerationParameters.greedy(maxTokens: 40)
        parameters.stop = [stop]
        let stopped = try await session.generate(prompt: Fixtures.prompts[2], parameters: parameters)
        #expect(stopped.stopReason == .stopString)
        #expect(!stopped.text.contains(stop))
        #expect(free.text.hasPrefix(stopped.text))
    }

    @Test func chatTemplateUsesTheGemmaFormat() throws {
        let model = try Fixtures.model
        let text = try model.applyChatTemplate([.system("Be brief."), .user("Hi"), .assistant("Hello."), .user("Bye")])
        #expect(text.contains("<start_of_turn>user\n"))
        #expect(text.hasSuffix("<start_of_turn>model\n"))
        #expect(text.contains("Be brief."))
        let tokens = try model.tokenize(text)
        #expect(model.detokenize(tokens, special: true).contains("<start_of_turn>model"))
    }

    @Test func tokenizeAndDetokenizeRoundTrip() throws {
        let model = try Fixtures.model
        let text = "Ünïcödé text, emoji 🙂 and 中文 survive."
        let tokens = try model.tokenize(text, addSpecial: false)
        #expect(model.detokenize(tokens) == text)
        var accumulator = UTF8Accumulator()
        let streamed = tokens.map { accumulator.append(model.pieceBytes($0)) }.joined() + accumulator.flush()
        #expect(streamed == text)
    }

    @Test func modelFactsAreRead() throws {
        let model = try Fixtures.model
        let facts = model.facts
        #expect(facts.architecture == "gemma3")
        #expect(facts.layerCount == 18)
        #expect(facts.embeddingWidth == 640)
        #expect(facts.vocabularySize == 262_144)
        #expect(facts.parameterCount > 200_000_000)
        #expect(facts.metadata["general.architecture"] == "gemma3")
    }
}

/// Collects streamed text from a @Sendable callback.
final class Collector: @unchecked Sendable {
    private let lock = NSLock()
    private var parts: [String] = []
    func append(_ part: String) { lock.withLock { parts.append(part) } }
    var text: String { lock.withLock { parts.joined() } }
}
