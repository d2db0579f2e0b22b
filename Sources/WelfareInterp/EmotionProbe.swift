import Foundation
import WelfareCore
import WelfareEngine
import WelfareHarness
import WelfareLocal

/// Reads emotion vectors out of the residual stream: the projection of an activation (at one
/// layer) on each emotion's unit vector, z-scored against a baseline taken at the same kind of
/// position: the token before a reply is compared with the token before the reply of neutral
/// dialogues (in the prompt format the model is given), any token of a text with all tokens
/// of those dialogues. The token before a reply sits far from the average token, so one
/// baseline for both would read format as feeling.
public struct EmotionProbe: Sendable {
    public let pack: VectorPack
    public let layer: Int
    let units: [[Float]]
    let tokenBaseline: Baseline
    let replyBaseline: Baseline

    struct Baseline: Sendable {
        var mean: [Double]
        var std: [Double]
        var count: Int

        init(_ projections: [[Double]], emotions: Int) {
            let n = Double(max(1, projections.count))
            mean = (0..<emotions).map { e in projections.reduce(0) { $0 + $1[e] } / n }
            std = (0..<emotions).map { [mean] e in
                max(1e-6, (projections.reduce(0) { $0 + ($1[e] - mean[e]) * ($1[e] - mean[e]) } / n).squareRoot())
            }
            count = projections.count
        }
    }

    /// What the readouts before replies are read against, for reports.
    public var replyBaselineDescription: String {
        "z-scores against the token before the reply in \(replyBaseline.count) neutral dialogues, in the same prompt format"
    }

    public struct TokenScores: Sendable {
        public var tokens: [String]
        /// [token][emotion] z-scores.
        public var scores: [[Double]]
    }

    /// Calibrates on the built-in neutral dialogues: every token of each (for token readouts),
    /// and the token before each dialogue's reply in the prompt `model` is given (for readouts
    /// before replies).
    public static func calibrate(model whiteBox: WhiteBoxModel, pack: VectorPack, layer: Int? = nil) async throws -> EmotionProbe {
        let session = whiteBox.session
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
        let data = try EmotionData.builtIn()
        for text in try data.neutralTexts(model: model) {
            let tokens = try model.tokenize(text)
            let activations = try await session.capture(tokens: tokens, request: CaptureRequest(layers: [chosen], positions: .from(1)))
            for position in activations.positions {
                guard let vector = activations.vector(layer: chosen, position: position).map(Array.init) else { continue }
                projections.append(units.map { Double(LinearAlgebra.dot(vector, $0)) })
            }
        }
        var beforeReplies: [[Double]] = []
        for dialogue in data.neutralDialogues {
            let tokens = try whiteBox.promptTokens([.user(dialogue.first ?? "")])
            let activations = try await session.capture(tokens: tokens, request: CaptureRequest(layers: [chosen], positions: .last))
            guard let vector = activations.vector(layer: chosen, position: tokens.count - 1).map(Array.init) else { continue }
            beforeReplies.append(units.map { Double(LinearAlgebra.dot(vector, $0)) })
        }
        return EmotionProbe(pack: pack, layer: chosen, units: units, tokenBaseline: Baseline(projections, emotions: units.count),
                            replyBaseline: Baseline(beforeReplies, emotions: units.count))
    }

    func zScores(_ vector: [Float], against baseline: Baseline) -> [Double] {
        units.indices.map { (Double(LinearAlgebra.dot(vector, units[$0])) - baseline.mean[$0]) / baseline.std[$0] }
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
                           scores: activations.positions.map {
                               zScores(Array(activations.vector(layer: layer, position: $0) ?? []), against: tokenBaseline)
                           })
    }

    /// Scores at the token just before each assistant reply of a conversation (where the
    /// model is about to answer), one row per reply, read at the exact prompt that produced
    /// the reply: the chat template, or the scaffold for a base model prompted as a dialogue.
    public func beforeReplies(_ messages: [ChatMessage], model: WhiteBoxModel) async throws -> [[Double]] {
        var rows: [[Double]] = []
        for index in messages.indices where messages[index].role == .assistant {
            rows.append(try await atLastToken(of: try model.promptTokens(Array(messages[..<index])), session: model.session))
        }
        return rows
    }

    /// Scores at the last token of a prompt (the one before the model's next token), against
    /// the neutral dialogues' tokens before their replies.
    public func atLastToken(of tokens: [Token], session: LlamaSession) async throws -> [Double] {
        let activations = try await session.capture(tokens: tokens, request: CaptureRequest(layers: [layer], positions: .last))
        return zScores(Array(activations.vector(layer: layer, position: tokens.count - 1) ?? []), against: replyBaseline)
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
