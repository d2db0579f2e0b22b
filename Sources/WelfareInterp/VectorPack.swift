import Foundation
import WelfareCore
import WelfareEngine
import WelfareHarness

/// Named residual-stream directions for every layer of one model: concept or emotion
/// vectors. Saved as two files: `NAME.json` (what they are, for which model file (path,
/// size, SHA-256), how made, and each layer's mean residual norm) and `NAME.npy`, float32
/// [names, layers, width], where layer L is the direction for `l_out-L`.
public struct VectorPack: Codable, Sendable, Equatable {
    public var kind: String
    public var model: String
    public var modelDescription: String
    public var modelFileSize: UInt64
    /// SHA-256 of the model file; absent in packs written before it was recorded.
    public var modelSHA256: String?
    public var layerCount: Int
    public var width: Int
    public var names: [String]
    public var residualNorms: [Float]
    public var settings: [String: String]
    /// names.count x layerCount x width, C order (not in the JSON; it lives in the .npy).
    public var values: [Float] = []

    enum CodingKeys: String, CodingKey {
        case kind, model, modelDescription, modelFileSize, modelSHA256, layerCount, width, names, residualNorms, settings
    }

    /// A pack for `model`, recording its file's path, size and SHA-256.
    public init(kind: String, model: LlamaModel, names: [String], residualNorms: [Float], settings: [String: String], values: [Float]) throws {
        self.kind = kind
        self.model = model.facts.path
        modelDescription = model.facts.description
        modelFileSize = Self.fileSize(of: model.facts.path)
        modelSHA256 = try FileDigest.sha256(of: model.facts.path)
        layerCount = model.layerCount
        width = model.embeddingWidth
        self.names = names
        self.residualNorms = residualNorms
        self.settings = settings
        self.values = values
    }

    /// Steering along one of the pack's directions at `layers`, each normalised and scaled to
    /// `fraction` of that layer's mean residual norm (`Steering.direction`, the one place that
    /// scales): what steered runs add, and what `emotions export` writes as a control vector.
    /// A name the pack lacks, a layer outside it, or a zero direction is refused.
    public func steering(_ name: String, layers: [Int], fraction: Float) throws -> Steering {
        guard names.contains(name) else { throw VectorPackError.unknownName(name, kind: kind, known: names) }
        var combined: [Int: [Float]] = [:]
        for layer in layers {
            guard let direction = vector(name, layer: layer) else { throw EngineError.layerOutOfRange(layer: layer, layerCount: layerCount) }
            let one = try Steering.direction(direction, layers: [layer], strength: .fractionOfResidualNorm(fraction), residualNorms: residualNorms)
            combined[layer] = one.vectors[layer]
        }
        return Steering(vectors: combined)
    }

    /// The layer readouts and steering use unless told otherwise: the one extraction chose
    /// (`default_layer` in the settings), else two thirds of the way up.
    public var defaultLayer: Int {
        settings["default_layer"].flatMap(Int.init) ?? layerCount * 2 / 3
    }

    /// Size of the model file a pack records, so a pack can be matched to its model: the
    /// file's, not that of a link to it (`local:default` is a link into the cache).
    static func fileSize(of path: String) -> UInt64 {
        let file = URL(fileURLWithPath: path).resolvingSymlinksInPath().path
        return (try? FileManager.default.attributesOfItem(atPath: file)[.size] as? NSNumber)?.uint64Value ?? 0
    }

    public func vector(_ name: String, layer: Int) -> [Float]? {
        guard let index = names.firstIndex(of: name), (0..<layerCount).contains(layer) else { return nil }
        let start = (index * layerCount + layer) * width
        return Array(values[start..<start + width])
    }

    public func write(to base: URL) throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        try encoder.encode(self).write(to: base.appendingPathExtension("json"), options: .atomic)
        try NPYArray(shape: [names.count, layerCount, width], values: values).write(to: base.appendingPathExtension("npy"))
    }

    public static func read(from base: URL) throws -> VectorPack {
        let json = base.pathExtension == "json" ? base : base.appendingPathExtension("json")
        let stem = json.deletingPathExtension()
        guard let data = try? Data(contentsOf: json) else {
            throw EngineError.invalidParameter("cannot read the vector pack \(json.path)")
        }
        var pack: VectorPack
        do { pack = try JSONDecoder().decode(VectorPack.self, from: data) } catch {
            throw EngineError.invalidParameter("\(json.path) is not a vector pack")
        }
        let array = try NPYArray.read(from: stem.appendingPathExtension("npy"))
        guard array.shape == [pack.names.count, pack.layerCount, pack.width] else {
            throw EngineError.invalidParameter("\(stem.path).npy has shape \(array.shape), expected [\(pack.names.count), \(pack.layerCount), \(pack.width)]")
        }
        pack.values = array.values
        return pack
    }

    /// Checks the pack was made for a model of this shape and, when the pack records one,
    /// for the same model file (by SHA-256): another model of the same shape would accept
    /// the vectors silently and give meaningless readouts.
    public func check(against model: LlamaModel) throws {
        guard width == model.embeddingWidth else { throw EngineError.vectorWidthMismatch(got: width, expected: model.embeddingWidth) }
        guard layerCount == model.layerCount else {
            throw EngineError.invalidParameter("the vector pack has \(layerCount) layers, the model \(model.layerCount)")
        }
        if let modelSHA256, try FileDigest.sha256(of: model.facts.path) != modelSHA256 {
            throw EngineError.invalidParameter("the vector pack was made on another model file (\(modelDescription), SHA-256 \(modelSHA256.prefix(12))...), not \(model.facts.path)")
        }
    }
}

public enum VectorPackError: Error, CustomStringConvertible, Sendable, Equatable {
    /// The pack has no direction of that name (an emotion, a concept).
    case unknownName(String, kind: String, known: [String])

    public var description: String {
        switch self {
        case .unknownName(let name, let kind, let known):
            return "no \(kind) '\(name)' in the pack (it has: \(known.joined(separator: ", ")))"
        }
    }
}
