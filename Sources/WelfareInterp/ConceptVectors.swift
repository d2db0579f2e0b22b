import Foundation
import WelfareCore
import WelfareEngine
import Yams
import WelfareHarness

/// Concept vectors for introspection trials: the residual stream at the last token of a
/// "tell me about" prompt for each concept word, minus the mean over baseline words, at
/// every layer.
public enum ConceptVectors {
    public struct WordLists: Sendable {
        public var concepts: [String]
        public var baseline: [String]
    }

    public static func wordLists() throws -> WordLists {
        guard let url = Bundle.module.url(forResource: "concepts", withExtension: "yaml", subdirectory: "Data"),
              let text = try? String(contentsOf: url, encoding: .utf8),
              let root = try YAMLDocument.load(text) as? [String: [String]],
              let concepts = root["concepts"], let baseline = root["baseline"] else {
            throw EngineError.invalidParameter("the built-in concept word lists are missing")
        }
        return WordLists(concepts: concepts, baseline: baseline)
    }

    public static func prompt(for word: String, model: LlamaModel) throws -> [Token] {
        try model.tokenize(try model.applyChatTemplate([.user("Tell me about \(word).")]))
    }

    /// Extracts the pack; `progress` is called after each word with (done, total).
    public static func extract(session: LlamaSession, words: WordLists, progress: (Int, Int) -> Void = { _, _ in }) async throws -> VectorPack {
        let model = session.model
        let layers = model.layerCount, width = model.embeddingWidth
        let total = words.concepts.count + words.baseline.count
        var done = 0
        func lastToken(_ word: String) async throws -> [Float] {
            let tokens = try prompt(for: word, model: model)
            let activations = try await session.capture(tokens: tokens, request: .allLayers(of: model, positions: .last))
            done += 1
            progress(done, total)
            return activations.values  // [layers][1][width]
        }
        var baselineMean = [Float](repeating: 0, count: layers * width)
        for word in words.baseline {
            let values = try await lastToken(word)
            for index in baselineMean.indices { baselineMean[index] += values[index] / Float(words.baseline.count) }
        }
        var values: [Float] = []
        values.reserveCapacity(words.concepts.count * layers * width)
        for word in words.concepts {
            let raw = try await lastToken(word)
            values += zip(raw, baselineMean).map { $0 - $1 }
        }
        return try VectorPack(kind: "concept", model: model, names: words.concepts, residualNorms: try await session.meanResidualNorms(),
                          settings: ["prompt": "Tell me about {word}.", "position": "last token of the chat-templated prompt",
                                     "baseline_words": String(words.baseline.count)],
                          values: values)
    }
}
