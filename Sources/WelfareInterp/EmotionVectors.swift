import Foundation
import WelfareCore
import WelfareEngine

/// Emotion concept vectors: one forward pass per story captures every layer; each story is
/// averaged from `startToken` on; an emotion's vector is its mean minus the mean over all
/// emotions, with the principal directions of neutral dialogues (those explaining half
/// their variance) projected out.
public enum EmotionVectors {
    public struct Settings: Codable, Sendable {
        public var startToken: Int = 1
        /// Story indices held out (of 12 per emotion; mixed first and third person): the
        /// default layer is chosen on `layerSelection`, and the accuracy reported is on
        /// `heldOut`, which neither the vectors nor the choice of layer saw.
        public var layerSelection: [Int] = [3]
        public var heldOut: [Int] = [7, 11]
        public var denoiseShare: Double = 0.5

        public init() {}
    }

    public struct LayerScore: Codable, Sendable {
        public var layer: Int
        /// On the test stories.
        public var top1: Double
        public var top5: Double
        public var denoiseComponents: Int
        /// Top-1 on the layer-selection stories, which chose the default layer (nil when a
        /// pack is validated on another story set: its layer was chosen elsewhere).
        public var selectionTop1: Double? = nil
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

        /// Accuracy at the default layer against chance, as every summary states it.
        public var accuracySummary: String {
            let chosen = layers[defaultLayer]
            let split = chosen.selectionTop1 == nil ? "" : " on stories not used to choose the layer"
            return String(format: "top-1 %.2f (chance %.3f), top-5 %.2f (chance %.3f)", chosen.top1, chanceTop1, chosen.top5, chanceTop5) + split
        }
    }

    public struct IntensityCheck: Codable, Sendable {
        public var emotion: String
        public var template: String
        public var values: [String]
        public var projections: [Double]
        public var increasingSteps: Int
        /// Rank correlation of projection with the value's order (1: rises with every step).
        public var spearman: Double
    }

    /// Per text, per layer: the mean residual vector from the text's start token on.
    public static func means(packer: LlamaSession, texts: [String], starts: [Int], progress: (Int) -> Void = { _ in }) async throws -> [[[Float]]] {
        let model = packer.model
        var result: [[[Float]]] = []
        let tokenized = try texts.map { try model.tokenize($0) }
        for (index, (tokens, start)) in zip(tokenized, starts).enumerated() where tokens.count <= start {
            throw EngineError.invalidParameter("text \(index + 1) has \(tokens.count) tokens, not more than its start token \(start)")
        }
        let request = CaptureRequest.allLayers(of: model, positions: .from(starts.min() ?? 0))
        // In slices so progress can be reported between them.
        for first in stride(from: 0, to: tokenized.count, by: 64) {
            try Task.checkCancellation()
            let slice = Array(tokenized[first..<min(first + 64, tokenized.count)])
            for activations in try await packer.captureEach(slice, request: request) {
                let start = starts[result.count]
                result.append((0..<model.layerCount).map { activations.meanVector(layer: $0, from: start) ?? [] })
            }
            progress(result.count)
        }
        return result
    }

    /// A session for packed capture: 16 texts or 512 tokens per decode, whichever comes first.
    public static func packingOptions(threads: Int) -> SessionOptions {
        SessionOptions(contextLength: 1024, sequences: 16, threads: threads, batchSize: 512, unifiedKV: true)
    }

    /// One layer's result: the mean it centres on, the neutral directions it removes, and
    /// one vector per emotion.
    struct LayerVectors {
        var grand: [Float]
        var noise: [[Float]]
        var vectors: [[Float]]

        /// A text's mean activation as the vectors see it: centred and denoised.
        func place(_ mean: [Float]) -> [Float] {
            LinearAlgebra.projectOut(LinearAlgebra.subtract(mean, grand), noise)
        }
    }

    public static func extract(session: LlamaSession, data: EmotionData, settings: Settings = Settings(),
                               progress: (Int, Int) -> Void = { _, _ in }) async throws -> (pack: VectorPack, validation: Validation) {
        let model = session.model
        let layers = model.layerCount
        guard data.emotions.count >= 2 else { throw EngineError.invalidParameter("extraction needs at least 2 emotions") }
        let excluded = settings.heldOut + settings.layerSelection
        if let short = data.emotions.first(where: { $0.stories.indices.allSatisfy(excluded.contains) }) {
            throw EngineError.invalidParameter("emotion \(short.name) has no story left for training once stories \(settings.heldOut) are held out")
        }
        let captured = try await captureData(session: session, data: data, startToken: settings.startToken, progress: progress)
        let stories = captured.stories

        var offsets: [Int] = []
        var running = 0
        for emotion in data.emotions { offsets.append(running); running += emotion.stories.count }
        func storyMeans(_ emotion: Int, layer: Int, include: (Int) -> Bool) -> [[Float]] {
            (0..<data.emotions[emotion].stories.count).filter(include).map { stories[offsets[emotion] + $0][layer] }
        }

        var layerScores: [LayerScore] = []
        var perLayer: [LayerVectors] = []
        for layer in 0..<layers {
            let noise = denoiseDirections(captured.neutral.map { $0[layer] }, share: settings.denoiseShare)
            // Validation: vectors from the training stories only, tested on the held-out ones.
            let train = vectors(data.emotions.indices.map { storyMeans($0, layer: layer) { !excluded.contains($0) } }, noise: noise)
            func stories(_ indices: [Int]) -> [(Int, [Float])] {
                data.emotions.indices.flatMap { emotion in storyMeans(emotion, layer: layer) { indices.contains($0) }.map { (emotion, $0) } }
            }
            let (top1, top5) = classify(stories(settings.heldOut), by: train)
            let selection = settings.layerSelection.isEmpty ? nil : classify(stories(settings.layerSelection), by: train).top1
            layerScores.append(LayerScore(layer: layer, top1: top1, top5: top5, denoiseComponents: noise.count, selectionTop1: selection))
            // The pack: vectors from all stories.
            perLayer.append(vectors(data.emotions.indices.map { storyMeans($0, layer: layer) { _ in true } }, noise: noise))
        }
        var packValues: [Float] = []
        for emotion in data.emotions.indices { for layer in 0..<layers { packValues += perLayer[layer].vectors[emotion] } }

        // The layer is chosen on the selection stories, so the accuracy reported at it (on the
        // test stories) is not the maximum of many noisy accuracies.
        let bestTop1 = layerScores.compactMap(\.selectionTop1).max() ?? 0
        let target = Double(layers) * 2 / 3
        let defaultLayer = layerScores.filter { $0.selectionTop1 == bestTop1 && $0.layer > 0 }
            .min { abs(Double($0.layer) - target) < abs(Double($1.layer) - target) }?.layer ?? layers * 2 / 3
        let tested = data.emotions.reduce(0) { $0 + $1.stories.indices.filter { settings.heldOut.contains($0) }.count }
        let validation = describe(layerScores: layerScores, at: perLayer[defaultLayer], defaultLayer: defaultLayer, emotions: data.emotions,
                                  intensity: data.intensity, intensityMeans: captured.intensity, testedStories: tested)
        let pack = try VectorPack(kind: "emotion", model: model, names: data.emotions.map(\.name),
                                  residualNorms: try await session.meanResidualNorms(),
                                  settings: ["start_token": String(settings.startToken), "default_layer": String(defaultLayer),
                                             "denoise_variance_share": String(settings.denoiseShare), "stories": String(stories.count),
                                             "neutral_dialogues": String(captured.neutral.count)],
                                  values: packValues)
        return (pack, validation)
    }

    /// Mean activations (per text, per layer) of the stories, neutral dialogues and intensity
    /// texts, all captured on one packing session; `progress` sees texts done of the total.
    static func captureData(session: LlamaSession, data: EmotionData, startToken: Int, progress: (Int, Int) -> Void) async throws
        -> (stories: [[[Float]]], neutral: [[[Float]]], intensity: [[[Float]]])
    {
        let model = session.model
        let packer = try LlamaSession(model: model, options: packingOptions(threads: session.options.threads))
        let storyTexts = data.emotions.flatMap(\.stories), neutralTexts = try data.neutralTexts(model: model)
        let intensityTexts = data.intensityTexts
        let total = storyTexts.count + neutralTexts.count + intensityTexts.count
        let stories = try await means(packer: packer, texts: storyTexts, starts: storyTexts.map { _ in startToken }) { progress($0, total) }
        let neutral = try await means(packer: packer, texts: neutralTexts, starts: neutralTexts.map { _ in startToken }) {
            progress(storyTexts.count + $0, total)
        }
        let intensity = try await means(packer: packer, texts: intensityTexts, starts: try data.intensityStarts(model: model)) {
            progress(storyTexts.count + neutralTexts.count + $0, total)
        }
        return (stories, neutral, intensity)
    }

    /// Emotion vectors from each emotion's story means: mean minus the mean over emotions,
    /// with the neutral directions projected out.
    static func vectors(_ storyMeans: [[[Float]]], noise: [[Float]]) -> LayerVectors {
        let means = storyMeans.map { LinearAlgebra.mean($0) }
        let grand = LinearAlgebra.mean(means)
        let layer = LayerVectors(grand: grand, noise: noise, vectors: [])
        return LayerVectors(grand: grand, noise: noise, vectors: means.map(layer.place))
    }

    /// Top-1 and top-5 accuracy of naming each story's emotion by the nearest vectors (cosine).
    static func classify(_ stories: [(emotion: Int, mean: [Float])], by layer: LayerVectors) -> (top1: Double, top5: Double) {
        var hits1 = 0, hits5 = 0
        for story in stories {
            let x = layer.place(story.mean)
            let scores = layer.vectors.map { LinearAlgebra.cosine(x, $0) }
            let ranking = scores.indices.sorted { scores[$0] > scores[$1] }
            if ranking.first == story.emotion { hits1 += 1 }
            if ranking.prefix(5).contains(story.emotion) { hits5 += 1 }
        }
        let count = Double(max(1, stories.count))
        return (Double(hits1) / count, Double(hits5) / count)
    }

    /// The validation summary: per-layer accuracy, and at the default layer the principal
    /// components of the vectors and the response to the intensity templates.
    static func describe(layerScores: [LayerScore], at layer: LayerVectors, defaultLayer: Int, emotions: [EmotionData.Emotion],
                         intensity: [EmotionData.Intensity], intensityMeans: [[[Float]]], testedStories: Int) -> Validation {
        let vectors = layer.vectors
        let components = LinearAlgebra.principalComponents(vectors)
        let centre = LinearAlgebra.mean(vectors)
        func scores(_ index: Int) -> [Double] {
            guard components.indices.contains(index) else { return vectors.map { _ in 0 } }
            return vectors.map { Double(LinearAlgebra.dot(LinearAlgebra.subtract($0, centre), components[index].direction)) }
        }
        var pc1 = scores(0), pc2 = scores(1)
        let valence = emotions.map(\.valence), arousal = emotions.map(\.arousal)
        // A principal direction's sign is arbitrary: orient PC1 with valence and PC2 with arousal.
        if Statistics.pearson(pc1, valence) < 0 { pc1 = pc1.map { -$0 } }
        if Statistics.pearson(pc2, arousal) < 0 { pc2 = pc2.map { -$0 } }
        func ends(_ values: [Double]) -> (low: [String], high: [String]) {
            let order = values.indices.sorted { values[$0] < values[$1] }
            return (order.prefix(4).map { emotions[$0].name }, order.suffix(4).reversed().map { emotions[$0].name })
        }
        let (pc1Low, pc1High) = ends(pc1), (pc2Low, pc2High) = ends(pc2)

        var intensityChecks: [IntensityCheck] = []
        var cursor = 0
        for check in intensity {
            let slice = intensityMeans[cursor..<cursor + check.values.count]
            cursor += check.values.count
            guard let emotion = emotions.firstIndex(where: { $0.name == check.emotion }) else { continue }
            let direction = vectors[emotion]
            let unit = direction.map { $0 / max(LinearAlgebra.norm(direction), 1e-6) }
            let projections = slice.map { Double(LinearAlgebra.dot(layer.place($0[defaultLayer]), unit)) }
            let steps = zip(projections, projections.dropFirst()).filter { $1 > $0 }.count
            intensityChecks.append(IntensityCheck(emotion: check.emotion, template: check.template, values: check.values,
                                                  projections: projections, increasingSteps: steps,
                                                  spearman: Statistics.spearman(projections.indices.map(Double.init), projections)))
        }
        return Validation(
            heldOutStories: testedStories, emotions: emotions.count, chanceTop1: 1 / Double(emotions.count),
            chanceTop5: min(1, 5 / Double(emotions.count)), layers: layerScores, defaultLayer: defaultLayer,
            pc1Share: components.first?.share ?? 0, pc1Negative: pc1Low, pc1Positive: pc1High, pc2Negative: pc2Low, pc2Positive: pc2High,
            pc1ValenceCorrelation: Statistics.pearson(pc1, valence), pc2ArousalCorrelation: Statistics.pearson(pc2, arousal),
            intensity: intensityChecks)
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
