import Foundation
import WelfareCore
import WelfareEngine

extension EmotionVectors {
    /// Checks an existing pack against a story set: each story is named by the pack's
    /// nearest vector (cosine) at every layer. Stories should not be ones the pack was made
    /// from (for example a set written by `welfare emotions stories`); the shipped stories
    /// give in-sample accuracy for a pack extracted from them. Emotions the pack lacks are
    /// skipped. The pack's own default layer is kept for the geometry and intensity checks.
    public static func validate(pack: VectorPack, session: LlamaSession, data: EmotionData,
                                progress: (Int, Int) -> Void = { _, _ in }) async throws -> Validation {
        let model = session.model
        try pack.check(against: model)
        let shared = data.emotions.filter { pack.names.contains($0.name) }
        guard shared.count >= 2 else {
            throw EngineError.invalidParameter("the stories share fewer than 2 emotions with the pack (it has: \(pack.names.joined(separator: ", ")))")
        }
        var subset = data
        subset.emotions = shared
        let startToken = pack.settings["start_token"].flatMap(Int.init) ?? 1
        let share = pack.settings["denoise_variance_share"].flatMap(Double.init) ?? 0.5
        let defaultLayer = pack.defaultLayer
        let captured = try await captureData(session: session, data: subset, startToken: startToken, progress: progress)

        var offset = 0
        var labelled: [(emotion: Int, layerMeans: [[Float]])] = []
        for (index, emotion) in shared.enumerated() {
            for story in captured.stories[offset..<offset + emotion.stories.count] { labelled.append((index, story)) }
            offset += emotion.stories.count
        }
        var layerScores: [LayerScore] = []
        var defaultVectors: LayerVectors?
        for layer in 0..<pack.layerCount {
            let noise = denoiseDirections(captured.neutral.map { $0[layer] }, share: share)
            // Centred on this set's own mean over emotions, since a pack does not store the
            // mean it was centred on; the pack's vectors are already centred and denoised.
            let grand = LinearAlgebra.mean(shared.indices.map { emotion in
                LinearAlgebra.mean(labelled.filter { $0.emotion == emotion }.map { $0.layerMeans[layer] })
            })
            let vectors = LayerVectors(grand: grand, noise: noise, vectors: shared.map { pack.vector($0.name, layer: layer) ?? [] })
            let (top1, top5) = classify(labelled.map { ($0.emotion, $0.layerMeans[layer]) }, by: vectors)
            layerScores.append(LayerScore(layer: layer, top1: top1, top5: top5, denoiseComponents: noise.count))
            if layer == defaultLayer { defaultVectors = vectors }
        }
        guard let atDefault = defaultVectors else { throw EngineError.layerOutOfRange(layer: defaultLayer, layerCount: pack.layerCount) }
        return describe(layerScores: layerScores, at: atDefault, defaultLayer: defaultLayer, emotions: shared,
                        intensity: subset.intensity, intensityMeans: captured.intensity, testedStories: labelled.count)
    }
}
