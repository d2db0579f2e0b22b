import Testing
import WelfareCore
@testable import WelfareEngine

@Suite(.serialized) struct SteeringTests {
    private func randomDirection(width: Int, seed: UInt64) -> [Float] {
        var generator = SplitMix64(state: seed)
        return (0..<width).map { _ in Float.random(in: -1...1, using: &generator) }
    }

    @Test func nonzeroVectorChangesLogitsAndZeroVectorDoesNot() async throws {
        let model = try Fixtures.model
        let session = try Fixtures.session()
        let tokens = try model.tokenize(Fixtures.prompts[0])
        let baseline = try await session.nextTokenLogits(tokens: tokens)
        let zero = Steering(vectors: [6: [Float](repeating: 0, count: 640)])
        #expect(try await session.nextTokenLogits(tokens: tokens, steering: zero) == baseline)
        let norms = try await session.meanResidualNorms()
        let push = try Steering.direction(randomDirection(width: 640, seed: 1), layers: [6], strength: .fractionOfResidualNorm(0.5), residualNorms: norms)
        let steered = try await session.nextTokenLogits(tokens: tokens, steering: push)
        let change = zip(baseline, steered).map { abs($0 - $1) }.max() ?? 0
        #expect(change > 0.1, "steering moved logits by at most \(change)")
        // Clearing: the next unsteered call is back to the baseline exactly.
        #expect(try await session.nextTokenLogits(tokens: tokens) == baseline)
    }

    @Test func theVectorIsAddedToTheSteeredLayerFromItsStartPosition() async throws {
        let model = try Fixtures.model
        let session = try Fixtures.session()
        let tokens = try model.tokenize(Fixtures.prompts[1])
        let start = 4
        let vector = randomDirection(width: 640, seed: 2).map { $0 * 20 }
        let steering = Steering(vectors: [8: vector], fromPosition: start)
        // The unsteered run adds a zero vector from the same position, so both decode in the
        // same chunks and agree bit for bit wherever steering has no effect.
        let unsteered = Steering(vectors: [8: [Float](repeating: 0, count: 640)], fromPosition: start)
        let request = CaptureRequest(layers: [7, 8, 9], positions: .all)
        let plain = try await session.capture(tokens: tokens, request: request, steering: unsteered)
        let steered = try await session.capture(tokens: tokens, request: request, steering: steering)
        for position in 0..<start {
            for layer in [8, 9] {
                let same = plain.vector(layer: layer, position: position) == steered.vector(layer: layer, position: position)
                #expect(same, "layer \(layer) position \(position) changed before steering started")
            }
        }
        // At the start position layer 7 is untouched and l_out-8 differs by exactly the vector.
        #expect(plain.vector(layer: 7, position: start) == steered.vector(layer: 7, position: start))
        let before = try #require(plain.vector(layer: 8, position: start))
        let after = try #require(steered.vector(layer: 8, position: start))
        let added = zip(after, before).map { $0 - $1 }
        #expect(VectorMath.maxAbsDifference(added, vector) < 1e-2)
        let layer9Changed = plain.vector(layer: 9, position: start) != steered.vector(layer: 9, position: start)
        #expect(layer9Changed)
    }

    @Test func aSpanIsSteeredOnlyBetweenItsEnds() async throws {
        let model = try Fixtures.model
        let session = try Fixtures.session()
        let tokens = try model.tokenize(Fixtures.prompts[1])
        #expect(tokens.count > 7)
        let vector = randomDirection(width: 640, seed: 3).map { $0 * 20 }
        let span = Steering(vectors: [8: vector]).over(3..<6)
        // The same chunks without the vector, so positions outside the span agree bit for bit.
        let zero = Steering(vectors: [8: [Float](repeating: 0, count: 640)]).over(3..<6)
        let request = CaptureRequest(layers: [8], positions: .all)
        let plain = try await session.capture(tokens: tokens, request: request, steering: zero)
        let steered = try await session.capture(tokens: tokens, request: request, steering: span)
        for position in 0..<tokens.count {
            let before = try #require(plain.vector(layer: 8, position: position))
            let after = try #require(steered.vector(layer: 8, position: position))
            let difference = VectorMath.maxAbsDifference(zip(after, before).map { $0 - $1 }, vector)
            if (3..<6).contains(position) {
                #expect(difference < 1e-2, "position \(position) is in the span: the vector is added")
            } else if position < 3 {
                #expect(after == before, "position \(position) is before the span")
            } else {
                #expect(difference > 1, "position \(position) is after the span: the vector is not added again")
            }
        }
        // A span that runs to the end is steering from its start.
        let toEnd = Steering(vectors: [8: vector]).over(3..<tokens.count)
        #expect(try await session.nextTokenLogits(tokens: tokens, steering: toEnd)
                == (try await session.nextTokenLogits(tokens: tokens, steering: Steering(vectors: [8: vector], fromPosition: 3))))
        await #expect(throws: EngineError.self) {
            _ = try await session.nextTokenLogits(tokens: tokens, steering: Steering(vectors: [8: vector], fromPosition: 4, untilPosition: 4))
        }
    }

    @Test func strengthIsAFractionOfTheResidualNorm() async throws {
        let session = try Fixtures.session()
        let norms = try await session.meanResidualNorms()
        let steering = try Steering.direction(randomDirection(width: 640, seed: 3), layers: [4, 10],
                                              strength: .fractionOfResidualNorm(0.25), residualNorms: norms)
        for layer in [4, 10] {
            let length = steering.vectors[layer]!.reduce(0) { $0 + $1 * $1 }.squareRoot()
            #expect(abs(length - 0.25 * norms[layer]) < 1e-3 * norms[layer])
        }
    }

    @Test func steeringChangesGeneratedText() async throws {
        let session = try Fixtures.session()
        let norms = try await session.meanResidualNorms()
        let parameters = GenerationParameters.greedy(maxTokens: 20)
        let plain = try await session.generate(prompt: Fixtures.prompts[3], parameters: parameters)
        let steering = try Steering.direction(randomDirection(width: 640, seed: 4), layers: Array(4...12),
                                              strength: .fractionOfResidualNorm(1.0), residualNorms: norms)
        let steered = try await session.generate(prompt: Fixtures.prompts[3], parameters: parameters, steering: steering)
        #expect(plain.tokens != steered.tokens)
    }
}

/// A small seeded generator so test vectors are the same on every run.
struct SplitMix64: RandomNumberGenerator {
    var state: UInt64
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
