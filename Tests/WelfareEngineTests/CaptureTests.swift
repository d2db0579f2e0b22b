import Testing
import WelfareCore
@testable import WelfareEngine

@Suite(.serialized) struct CaptureTests {
    @Test func shapesAndTokensLineUpWithThePrompt() async throws {
        let model = try Fixtures.model
        let tokens = try model.tokenize(Fixtures.prompts[0])
        let session = try Fixtures.session()
        let activations = try await session.capture(tokens: tokens, request: .allLayers(of: model))
        #expect(activations.layers == Array(0..<18))
        #expect(activations.positions == Array(0..<tokens.count))
        #expect(activations.tokens == tokens)
        #expect(activations.width == 640)
        #expect(activations.values.count == 18 * tokens.count * 640)
        // Every row was really written, the last layer's included (llama.cpp keeps only
        // output rows there, so the session must mark captured positions as outputs).
        for layer in [0, 9, 17] {
            for position in activations.positions {
                let vector = try #require(activations.vector(layer: layer, position: position))
                #expect(vector.contains { $0 != 0 }, "layer \(layer) position \(position) is all zeros")
            }
        }
    }

    @Test func captureDoesNotChangeTheGeneratedText() async throws {
        let model = try Fixtures.model
        let session = try Fixtures.session()
        let parameters = GenerationParameters.greedy(maxTokens: 24)
        let plain = try await session.generate(prompt: Fixtures.prompts[2], parameters: parameters)
        let captured = try await session.generate(prompt: Fixtures.prompts[2], parameters: parameters,
                                                  capture: .allLayers(of: model, includeGenerated: true))
        #expect(plain.tokens == captured.tokens)
        let activations = try #require(captured.activations)
        // Generated tokens are captured when fed back: all but the last one.
        let fed = captured.promptTokenCount + captured.tokens.count - 1
        #expect(activations.positions == Array(0..<fed))
        #expect(Array(activations.tokens.suffix(captured.tokens.count - 1)) == Array(captured.tokens.dropLast()))
    }

    @Test func chunkedPromptGivesTheSameActivationsAsOneBatch() async throws {
        // The callback fires once per ubatch: a prompt split into 5-token chunks must line
        // up position by position with the same prompt decoded at once.
        let model = try Fixtures.model
        let tokens = try model.tokenize(Fixtures.prompts[1] + " " + Fixtures.prompts[2])
        let request = CaptureRequest(layers: [3, 17], positions: .all)
        let whole = try await Fixtures.session().capture(tokens: tokens, request: request)
        let chunked = try await Fixtures.session(batchSize: 5).capture(tokens: tokens, request: request)
        #expect(whole.positions == chunked.positions)
        let worst = VectorMath.worstRelativeError(chunked, whole)
        // Rounding differs between 5-token and whole-prompt kernels; a misaligned row
        // (wrong position) would give errors of order 1.
        #expect(worst < 0.03, "worst relative error \(worst)")
    }

    @Test func packedTextsGiveTheSameActivationsAsOneByOne() async throws {
        // Several texts of different lengths share one llama_batch (one sequence each); a
        // row assigned to the wrong text or position would differ by order 1. The batch
        // size forces a second pack and leaves the longest text to go alone.
        let model = try Fixtures.model
        let texts = try (Fixtures.prompts + [Fixtures.prompts.joined(separator: " ")]).map { try model.tokenize($0) }
        let request = CaptureRequest(layers: [0, 8, 17], positions: .from(1))
        let packer = try LlamaSession(model: model, options: SessionOptions(contextLength: 256, sequences: 3, batchSize: 30, unifiedKV: true))
        #expect(texts.last!.count > 30 && texts.dropLast().allSatisfy { $0.count < 15 })
        let packed = try await packer.captureEach(texts, request: request)
        let single = try Fixtures.session()
        var worst: Float = 0
        for (text, activations) in zip(texts, packed) {
            let alone = try await single.capture(tokens: text, request: request)
            #expect(activations.positions == alone.positions)
            #expect(activations.tokens == Array(text.dropFirst()))
            worst = max(worst, VectorMath.worstRelativeError(activations, alone))
        }
        #expect(worst < 0.03, "worst relative error \(worst)")
    }

    @Test func stoppingAfterTheLastCapturedLayerChangesNoVector() async throws {
        // `capture` skips the graph above the highest requested layer; generation with a
        // capture runs the whole graph. The captured rows must agree.
        let model = try Fixtures.model
        let tokens = try model.tokenize(Fixtures.prompts[0])
        let session = try Fixtures.session()
        let request = CaptureRequest(layers: [4, 11], positions: .all)
        let stopped = try await session.capture(tokens: tokens, request: request)
        let full = try #require(try await session.generate(tokens: tokens, parameters: .greedy(maxTokens: 1), capture: request).activations)
        #expect(stopped.positions == full.positions)
        #expect(stopped.values == full.values)
    }

    @Test func selectedPositionsOnly() async throws {
        let model = try Fixtures.model
        let tokens = try model.tokenize(Fixtures.prompts[3])
        let session = try Fixtures.session()
        let last = try await session.capture(tokens: tokens, request: CaptureRequest(layers: [17], positions: .last))
        #expect(last.positions == [tokens.count - 1])
        let all = try await session.capture(tokens: tokens, request: CaptureRequest(layers: [17], positions: .all))
        let fromLast = try #require(last.vector(layer: 17, position: tokens.count - 1))
        let fromAll = try #require(all.vector(layer: 17, position: tokens.count - 1))
        #expect(VectorMath.relativeError(fromLast, fromAll) < 0.01)
        let previous = try #require(all.vector(layer: 17, position: tokens.count - 2))
        #expect(VectorMath.relativeError(previous, fromAll) > 0.05, "neighbouring positions must differ")
        let listed = try await session.capture(tokens: tokens, request: CaptureRequest(layers: [2, 5], positions: .list([1, 3])))
        #expect(listed.positions == [1, 3])
        #expect(listed.layers == [2, 5])
    }

    @Test func residualNormsArePositiveForEveryLayer() async throws {
        let session = try Fixtures.session()
        let norms = try await session.meanResidualNorms()
        #expect(norms.count == 18)
        #expect(norms.allSatisfy { $0 > 0 && $0.isFinite })
        #expect(norms.last! > norms.first!, "the residual stream grows through a Gemma model")
    }
}
