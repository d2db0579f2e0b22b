import Foundation
import WelfareCore
import WelfareEngine
import WelfareInterp
import WelfareTestSupport

extension TestSupport {
    /// A small emotion pack on the default model (4 emotions, 4 stories each, nothing held
    /// out): enough for readout plumbing in seconds, written to `base`.json/.npy.
    static func smallEmotionPack(writingTo base: URL) async throws -> VectorPack {
        let session = try LlamaSession(model: try LlamaModel(path: DefaultModel.path()), options: SessionOptions(contextLength: 1024))
        var data = try EmotionData.builtIn()
        data.emotions = data.emotions.filter { ["calm", "desperate", "joyful", "afraid"].contains($0.name) }
        for index in data.emotions.indices { data.emotions[index].stories = Array(data.emotions[index].stories.prefix(4)) }
        var extraction = EmotionVectors.Settings()
        extraction.heldOut = []
        let (pack, _) = try await EmotionVectors.extract(session: session, data: data, settings: extraction)
        try pack.write(to: base)
        return pack
    }
}

