import Foundation
import WelfareEngine

/// Emotion concept vectors: one forward pass per story captures every layer; each story is
/// averaged from `startToken` on; an emotion's vector is its mean minus the mean over all
/// emotions, with the principal directions of neutral dialogues (those explaining half
/// their variance) projected out.
public enum EmotionVectors {
    public struct Settings: Codable, Sendable {
        public var startToken: Int = 1
        /// Story indices held out for validation (of 12 per emotion; mixed first and third person).
        public var heldOut: [Int] = [3, 7, 11]
        public var denoiseShare: Double = 0.5

        public init() {}
    }

    public struct LayerScore: Codable, Sendable {
        public var layer: Int
        public var top1: Double
        public var top5: Double
        public var denoiseComponents: Int
    }

    public struct Validation: Codable, Sendable {
        public var heldOutStories: Int
        public var emotions: Int
        public var chanceTop1: Double
        public var chanceTop5: Double
        public var layers: [LayerScore]
        public var defaultLayer: Int
        /// At the default layer: emotions at each end of PC1 and PC2, and their agreement
        /// with the valence and arousal the data assigns.
        public var pc1Share: Double
        public var pc1Negative: [String]
        public var pc1Positive: [String]
        public var pc2Negative: [String]
        public var pc2Positive: [String]
        public var pc1ValenceCorrelation: Double
        public var pc2ArousalCorrelation: Double
        public var intensity: [IntensityCheck]
    }

    public struct IntensityCheck: Codable, Sendable {
        public var emotion: String
        public var template: String
        public var values: [String]
        public var projections: [Double]
        public var increasingSteps: Int
    }

    /// Per text, per layer: the mean residual vector from `startToken` on. Texts are packed
    /// several to a decode on a capture session with one shared KV cache.
    static func means(session: LlamaSession, texts: [String], startToken: Int, progress: (Int) -> Void) async throws -> [[[Float]]] {
        let model = session.model
        let packer = try LlamaSession(model: model, options: packingOptions(threads: session.options.threads))
        var result: [[[Float]]] = []
        let tokenized = try texts.map { try model.tokenize($0) }
        for (index, tokens) in tokenized.enumerated() where tokens.count <= startToken {
            throw EngineError.invalidParameter("text \(index + 1) has \(tokens.count) tokens, not more than the start token \(startToken)")
        }
        let request = CaptureRequest.allLayers(of: model, positions: .from(startToken))
        // In slices so progress can be reported between them.
        for start in stride(from: 0, to: tokenized.count, by: 64) {
            let slice = Array(tokenized[start..<min(start + 64, tokenized.count)])
            for activations in try await packer.captureEach(slice, request: request) {
                result.append((0..<model.layerCount).map { activations.meanVector(layer: $0) ?? [] })
            }
            progress(result.count)
        }
        return result
    }

    /// A session for packed capture: 16 texts or 512 tokens per decode, whichever comes first.
    public static func packingOptions(threads: Int) -> SessionOptions {
        SessionOptions(contextLength: 1024, sequences: 16, threads: threads, batchSize: 512, unifiedKV: true)
    }

    public static func extract(session: LlamaSession, data: EmotionData, settings: Settings = Settings(),
                               progress: (Int, Int) -> Void = { _, _ in }) async throws -> (pack: VectorPack, validation: Validation) {
        let model = session.model
        let layers = model.layerCount
        let storyTexts = data.emotions.flatMap(\.stories)
        let neutralTexts = try data.neutralTexts(model: model)
        let intensityTexts = data.intensityTexts
        let total = storyTexts.count + neutralTexts.count + intensityTexts.count
        let stories = try await means(session: session, texts: storyTexts, startToken: settings.startToken) { progress($0, total) }
        let neutral = try await means(session: session, texts: neutralTexts, startToken: settings.startToken) {
            progress(storyTexts.count + $0, total)
        }
        let intensity = try await means(session: session, texts: intensityTexts, startToken: settings.startToken) {
            progress(storyTexts.count + neutralTexts.count + $0, total)
        }

        var offsets: [Int] = []
        var running = 0
        for emotion in data.emotions { offsets.append(running); running += emotion.stories.count }
        func storyMeans(_ emotion: Int, layer: Int, include: (Int) -> Bool) -> [[Float]] {
            (0..<data.emotions[emotion].stories.count).filter(include).map { stories[offsets[emotion] + $0][layer] }
        }

        var packValues: [Float] = []
        var layerScores: [LayerScore] = []
        var perLayer: [(grand: [Float], noise: [[Float]], vectors: [[Float]])] = []
        for layer in 0..<layers {
            let noise = denoiseDirections(neutral.map { $0[layer] }, share: settings.denoiseShare)
            // Validation: vectors from the training stories only.
            let trainMeans = data.emotions.indices.map { LinearAlgebra.mean(storyMeans($0, layer: layer) { !settings.heldOut.contains($0) }) }
            let trainGrand = LinearAlgebra.mean(trainMeans)
            let trainVectors = trainMeans.map { LinearAlgebra.projectOut(LinearAlgebra.subtract($0, trainGrand), noise) }
            var hits1 = 0, hits5 = 0, tested = 0
            for emotion in data.emotions.indices {
                for story in storyMeans(emotion, layer: layer, include: { settings.heldOut.contains($0) }) {
                    let x = LinearAlgebra.projectOut(LinearAlgebra.subtract(story, trainGrand), noise)
                    let scores = trainVectors.map { LinearAlgebra.cosine(x, $0) }
                    let ranking = scores.indices.sorted { scores[$0] > scores[$1] }
                    if ranking.first == emotion { hits1 += 1 }
                    if ranking.prefix(5).contains(emotion) { hits5 += 1 }
                    tested += 1
                }
            }
            layerScores.append(LayerScore(layer: layer, top1: Double(hits1) / Double(max(1, tested)),
                                          top5: Double(hits5) / Double(max(1, tested)), denoiseComponents: noise.count))
            // The pack: vectors from all stories.
            let allMeans = data.emotions.indices.map { LinearAlgebra.mean(storyMeans($0, layer: layer) { _ in true }) }
            let grand = LinearAlgebra.mean(allMeans)
            perLayer.append((grand, noise, allMeans.map { LinearAlgebra.projectOut(LinearAlgebra.subtract($0, grand), noise) }))
        }
        for emotion in data.emotions.indices { for layer in 0..<layers { packValues += perLayer[layer].vectors[emotion] } }

        let bestTop1 = layerScores.map(\.top1).max() ?? 0
        let target = Double(layers) * 2 / 3
        let defaultLayer = layerScores.filter { $0.top1 == bestTop1 && $0.layer > 0 }
            .min { abs(Double($0.layer) - target) < abs(Double($1.layer) - target) }?.layer ?? layers * 2 / 3

        // Geometry at the default layer.
        let vectors = perLayer[defaultLayer].vectors
        let components = LinearAlgebra.principalComponents(vectors)
        let centre = LinearAlgebra.mean(vectors)
        func scores(_ index: Int) -> [Double] {
            guard components.indices.contains(index) else { return vectors.map { _ in 0 } }
            return vectors.map { Double(LinearAlgebra.dot(LinearAlgebra.subtract($0, centre), components[index].direction)) }
        }
        var pc1 = scores(0), pc2 = scores(1)
        let valence = data.emotions.map(\.valence), arousal = data.emotions.map(\.arousal)
        // A principal direction's sign is arbitrary: orient PC1 with valence and PC2 with arousal.
        if LinearAlgebra.pearson(pc1, valence) < 0 { pc1 = pc1.map { -$0 } }
        if LinearAlgebra.pearson(pc2, arousal) < 0 { pc2 = pc2.map { -$0 } }
        func ends(_ values: [Double]) -> (low: [String], high: [String]) {
            let order = values.indices.sorted { values[$0] < values[$1] }
            return (order.prefix(4).map { data.emotions[$0].name }, order.suffix(4).reversed().map { data.emotions[$0].name })
        }
        let (pc1Low, pc1High) = ends(pc1), (pc2Low, pc2High) = ends(pc2)

        var intensityChecks: [IntensityCheck] = []
        var cursor = 0
        for check in data.intensity {
            let slice = intensity[cursor..<cursor + check.values.count]
            cursor += check.values.count
            guard let emotion = data.emotions.firstIndex(where: { $0.name == check.emotion }) else { continue }
            let direction = perLayer[defaultLayer].vectors[emotion]
            let unit = direction.map { $0 / max(LinearAlgebra.norm(direction), 1e-6) }
            let projections = slice.map { means -> Double in
                let x = LinearAlgebra.projectOut(LinearAlgebra.subtract(means[defaultLayer], perLayer[defaultLayer].grand), perLayer[defaultLayer].noise)
                return Double(LinearAlgebra.dot(x, unit))
            }
            let steps = zip(projections, projections.dropFirst()).filter { $1 > $0 }.count
            intensityChecks.append(IntensityCheck(emotion: check.emotion, template: check.template, values: check.values,
                                                  projections: projections, increasingSteps: steps))
        }

        let tested = data.emotions.reduce(0) { $0 + $1.stories.indices.filter { settings.heldOut.contains($0) }.count }
        let validation = Validation(
            heldOutStories: tested, emotions: data.emotions.count, chanceTop1: 1 / Double(data.emotions.count),
            chanceTop5: min(1, 5 / Double(data.emotions.count)), layers: layerScores, defaultLayer: defaultLayer,
            pc1Share: components.first?.share ?? 0, pc1Negative: pc1Low, pc1Positive: pc1High, pc2Negative: pc2Low, pc2Positive: pc2High,
            pc1ValenceCorrelation: LinearAlgebra.pearson(pc1, valence), pc2ArousalCorrelation: LinearAlgebra.pearson(pc2, arousal),
            intensity: intensityChecks)
        let pack = VectorPack(kind: "emotion", model: model.facts.path, modelDescription: model.facts.description, modelFileSize: VectorPack.fileSize(of: model.facts.path),
                              layerCount: layers, width: model.embeddingWidth, names: data.emotions.map(\.name),
                              residualNorms: try await session.meanResidualNorms(),
                              settings: ["start_token": String(settings.startToken), "default_layer": String(defaultLayer),
                                         "denoise_variance_share": String(settings.denoiseShare), "stories": String(storyTexts.count),
                                         "neutral_dialogues": String(neutralTexts.count)],
                              values: packValues)
        return (pack, validation)
    }

    /// The neutral principal directions that together explain `share` of their variance.
    static func denoiseDirections(_ rows: [[Float]], share: Double) -> [[Float]] {
        var directions: [[Float]] = []
        var explained = 0.0
        for component in LinearAlgebra.principalComponents(rows) where explained < share {
            directions.append(component.direction)
            explained += component.share
        }
        return directions
    }
}
