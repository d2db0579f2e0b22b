import Foundation
import WelfareCore
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
        let chosen = layer ?? pack.defaultLayer
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

    /// Per-token scores for a text. Leading control tokens (`<bos>`) are left out: their
    /// activations are far off the scale of text (about -24 z on the default model) and would
    /// drag the first rolling-mean windows.
    public func read(tokens: [Token], session: LlamaSession) async throws -> TokenScores {
        let model = session.model
        let skipped = tokens.prefix { model.isControl($0) }.count
        guard skipped < tokens.count else { return TokenScores(tokens: [], scores: []) }
        let activations = try await session.capture(tokens: tokens, request: CaptureRequest(layers: [layer], positions: .from(skipped)))
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
            rows.append(try await atLastToken(of: try model.tokenize(prompt), session: session))
        }
        return rows
    }

    /// Scores at the last token of a prompt (the one before the model's next token).
    public func atLastToken(of tokens: [Token], session: LlamaSession) async throws -> [Double] {
        let activations = try await session.capture(tokens: tokens, request: CaptureRequest(layers: [layer], positions: .last))
        return zScores(Array(activations.vector(layer: layer, position: tokens.count - 1) ?? []))
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
