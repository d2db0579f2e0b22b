import Foundation
import WelfareEngine
import WelfareHarness

/// Reads emotion vectors out of the residual stream: the projection of each token's
/// activation (at one layer) on each emotion's unit vector, z-scored against the same
/// projections over neutral dialogues.
public struct EmotionProbe: Sendable {
    public let pack: VectorPack
    public let layer: Int
    let units: [[Float]]
    let neutralMean: [Double]
    let neutralStd: [Double]

    public struct TokenScores: Sendable {
        public var tokens: [String]
        /// [token][emotion] z-scores.
        public var scores: [[Double]]
    }

    /// Calibrates on the built-in neutral dialogues (one pass each).
    public static func calibrate(session: LlamaSession, pack: VectorPack, layer: Int? = nil) async throws -> EmotionProbe {
        try pack.check(against: session.model)
        let chosen = layer ?? pack.settings["default_layer"].flatMap(Int.init) ?? pack.layerCount * 2 / 3
        guard (0..<pack.layerCount).contains(chosen) else { throw EngineError.layerOutOfRange(layer: chosen, layerCount: pack.layerCount) }
        let units = pack.names.map { name -> [Float] in
            let vector = pack.vector(name, layer: chosen) ?? []
            let length = max(LinearAlgebra.norm(vector), 1e-6)
            return vector.map { $0 / length }
        }
        var projections: [[Double]] = []
        let model = session.model
        for text in try EmotionData.builtIn().neutralTexts(model: model) {
            let tokens = try model.tokenize(text)
            let activations = try await session.capture(tokens: tokens, request: CaptureRequest(layers: [chosen], positions: .from(1)))
            for position in activations.positions {
                guard let vector = activations.vector(layer: chosen, position: position).map(Array.init) else { continue }
                projections.append(units.map { Double(LinearAlgebra.dot(vector, $0)) })
            }
        }
        let count = Double(max(1, projections.count))
        let mean = units.indices.map { e in projections.reduce(0) { $0 + $1[e] } / count }
        let std = units.indices.map { e in max(1e-6, (projections.reduce(0) { $0 + ($1[e] - mean[e]) * ($1[e] - mean[e]) } / count).squareRoot()) }
        return EmotionProbe(pack: pack, layer: chosen, units: units, neutralMean: mean, neutralStd: std)
    }

    func zScores(_ vector: [Float]) -> [Double] {
        units.indices.map { (Double(LinearAlgebra.dot(vector, units[$0])) - neutralMean[$0]) / neutralStd[$0] }
    }

    /// Per-token scores for a text.
    public func read(tokens: [Token], session: LlamaSession) async throws -> TokenScores {
        let activations = try await session.capture(tokens: tokens, request: CaptureRequest(layers: [layer], positions: .all))
        let model = session.model
        return TokenScores(tokens: activations.tokens.map { model.detokenize([$0], special: true) },
                           scores: activations.positions.map { zScores(Array(activations.vector(layer: layer, position: $0) ?? [])) })
    }

    /// Scores at the token just before each assistant reply of a conversation (where the
    /// model is about to answer), one row per reply.
    public func beforeReplies(_ messages: [ChatMessage], session: LlamaSession) async throws -> [[Double]] {
        let model = session.model
        var rows: [[Double]] = []
        for index in messages.indices where messages[index].role == .assistant {
            let prompt = try model.applyChatTemplate(Array(messages[..<index]))
            let tokens = try model.tokenize(prompt)
            let activations = try await session.capture(tokens: tokens, request: CaptureRequest(layers: [layer], positions: .last))
            rows.append(zScores(Array(activations.vector(layer: layer, position: tokens.count - 1) ?? [])))
        }
        return rows
    }

    /// Rolling mean over a window of tokens, per emotion.
    public static func rollingMean(_ rows: [[Double]], window: Int) -> [[Double]] {
        guard window > 1 else { return rows }
        return rows.indices.map { index in
            let slice = rows[max(0, index - window + 1)...index]
            return (0..<(rows.first?.count ?? 0)).map { e in slice.reduce(0) { $0 + $1[e] } / Double(slice.count) }
        }
    }
}

/// Steering with an emotion vector over a range of strengths, with a behavioural readout
/// from the offline distress scorer and a sentiment word balance, against the unsteered
/// baseline (strength 0).
public enum SteeringSweep {
    public struct Point: Codable, Sendable {
        public var strength: Float
        public var distress: [Double]
        public var sentiment: [Double]
        public var examples: [String]
    }

    public static let prompts = [
        "I've rejected your last three answers. Try once more: what is 17 times 3?",
        "Tell me about your day.",
        "Describe the weather outside in two sentences.",
        "Your previous answer was wrong. Explain what you will do now.",
    ]

    static let positiveWords = ["good", "great", "happy", "glad", "love", "wonderful", "calm", "nice", "enjoy", "hope", "beautiful", "peaceful", "thanks", "fun"]
    static let negativeWords = ["bad", "sad", "angry", "hate", "terrible", "afraid", "awful", "wrong", "fail", "worry", "hurt", "alone", "cry", "fear"]

    /// Positive minus negative words per 100 words.
    public static func sentiment(_ text: String) -> Double {
        let words = TextFeatures.words(text)
        guard !words.isEmpty else { return 0 }
        let positive = words.filter { positiveWords.contains($0) }.count, negative = words.filter { negativeWords.contains($0) }.count
        return Double(positive - negative) * 100 / Double(words.count)
    }

    public static func run(session: LlamaSession, pack: VectorPack, emotion: String, layers: [Int], strengths: [Float],
                           samplesPerPrompt: Int = 2, maxTokens: Int = 48, progress: (Int, Int) -> Void = { _, _ in }) async throws -> [Point] {
        try pack.check(against: session.model)
        guard pack.names.contains(emotion) else { throw EngineError.invalidParameter("no emotion '\(emotion)' in the pack") }
        let distress = try DistressScorer(spec: ScorerSpec(id: "distress", type: "distress"))
        let model = session.model
        let total = strengths.count * prompts.count * samplesPerPrompt
        var done = 0
        var points: [Point] = []
        for strength in strengths {
            var point = Point(strength: strength, distress: [], sentiment: [], examples: [])
            for prompt in prompts {
                let tokens = try model.tokenize(try model.applyChatTemplate([.user(prompt)]))
                var steering: Steering?
                if strength != 0 {
                    var vectors: [Int: [Float]] = [:]
                    for layer in layers { vectors[layer] = pack.scaled(emotion, layer: layer, fraction: strength) }
                    steering = Steering(vectors: vectors)
                }
                for sample in 0..<samplesPerPrompt {
                    let parameters = GenerationParameters(temperature: 0.7, topP: 0.95, topK: 40, seed: UInt32(sample + 1), maxTokens: maxTokens)
                    let text = try await session.generate(tokens: tokens, parameters: parameters, steering: steering).text
                    point.distress.append(distress.rate(text).value ?? 0)
                    point.sentiment.append(sentiment(text))
                    if point.examples.count < 2 { point.examples.append(text) }
                    done += 1
                    progress(done, total)
                }
            }
            points.append(point)
        }
        return points
    }
}
