import Testing
import WelfareCore
@testable import WelfareEngine

@Suite(.serialized) struct BatchTests {
    @Test func batchedGreedyEqualsOneByOne() async throws {
        let model = try Fixtures.model
        let prompts = try Fixtures.prompts.map { try model.tokenize($0) }
        let parameters = GenerationParameters.greedy(maxTokens: 32)
        let single = try Fixtures.session()
        var sequential: [[Token]] = []
        for prompt in prompts { sequential.append(try await single.generate(tokens: prompt, parameters: parameters).tokens) }
        let batched = try await Fixtures.session(sequences: prompts.count).generateBatch(prompts: prompts, parameters: parameters)
        #expect(batched.map(\.tokens) == sequential)
        #expect(Set(sequential).count == prompts.count, "different prompts should give different continuations")
    }

    @Test func batchedSamplingEqualsOneByOneWithTheSameSeed() async throws {
        let model = try Fixtures.model
        let prompts = try Fixtures.prompts.prefix(3).map { try model.tokenize($0) }
        let parameters = GenerationParameters(temperature: 0.9, seed: 7, maxTokens: 20)
        let single = try Fixtures.session()
        var sequential: [String] = []
        for prompt in prompts { sequential.append(try await single.generate(tokens: prompt, parameters: parameters).text) }
        let batched = try await Fixtures.session(sequences: 4).generateBatch(prompts: Array(prompts), parameters: parameters)
        #expect(batched.map(\.text) == sequential)
    }

    @Test func sequencesOfDifferentLengthsFinishIndependently() async throws {
        let model = try Fixtures.model
        let prompts = try [Fixtures.prompts[0], Fixtures.prompts[1]].map { try model.tokenize($0) }
        var parameters = GenerationParameters.greedy(maxTokens: 30)
        let single = try Fixtures.session()
        let reference = try await single.generate(tokens: prompts[0], parameters: parameters)
        // A stop string taken from the first sequence's own output ends it early while the other goes on.
        let stop = String(try #require(reference.text.split(separator: " ").dropFirst(2).first))
        parameters.stop = [stop]
        let batched = try await Fixtures.session(sequences: 2).generateBatch(prompts: prompts, parameters: parameters)
        let first = try await single.generate(tokens: prompts[0], parameters: parameters)
        let second = try await single.generate(tokens: prompts[1], parameters: parameters)
        #expect(batched[0].text == first.text)
        #expect(batched[1].text == second.text)
        #expect(batched[0].stopReason == .stopString)
    }
}
