/// Vectors added to the residual stream through llama.cpp's control-vector adapter.
/// `vectors[L]` is added to the output of block L (what `l_out-L` reports), for every
/// token from `fromPosition` on, or up to `untilPosition` (exclusive) when set: a span of
/// the prompt, such as one option of a choice. Layer 0 cannot be steered: llama.cpp's
/// adapter has no slot for it.
public struct Steering: Sendable, Equatable {
    public var vectors: [Int: [Float]]
    public var fromPosition: Int
    public var untilPosition: Int?

    public init(vectors: [Int: [Float]], fromPosition: Int = 0, untilPosition: Int? = nil) {
        self.vectors = vectors
        self.fromPosition = fromPosition
        self.untilPosition = untilPosition
    }

    /// The same vectors over tokens `span` only.
    public func over(_ span: Range<Int>) -> Steering {
        Steering(vectors: vectors, fromPosition: span.lowerBound, untilPosition: span.upperBound)
    }

    /// How strongly to push along a direction.
    public enum Strength: Sendable, Equatable {
        /// The direction is normalised and multiplied by this number.
        case absolute(Float)
        /// The direction is normalised and scaled to this fraction of the layer's mean
        /// residual-stream norm (the convention of the published steering work).
        case fractionOfResidualNorm(Float)
    }

    /// One direction applied at several layers, each scaled by `strength`.
    /// `residualNorms[L]` is needed for `.fractionOfResidualNorm`.
    public static func direction(_ direction: [Float], layers: [Int], strength: Strength,
                                 residualNorms: [Float] = [], fromPosition: Int = 0) throws -> Steering {
        let norm = direction.reduce(0) { $0 + $1 * $1 }.squareRoot()
        guard norm > 0, norm.isFinite else { throw EngineError.invalidParameter("steering direction has zero or non-finite norm") }
        var vectors: [Int: [Float]] = [:]
        for layer in layers {
            let scale: Float
            switch strength {
            case .absolute(let value):
                scale = value
            case .fractionOfResidualNorm(let fraction):
                guard residualNorms.indices.contains(layer) else {
                    throw EngineError.invalidParameter("no residual norm known for layer \(layer)")
                }
                scale = fraction * residualNorms[layer]
            }
            vectors[layer] = direction.map { $0 / norm * scale }
        }
        return Steering(vectors: vectors, fromPosition: fromPosition)
    }

    func validate(layerCount: Int, width: Int) throws {
        guard !vectors.isEmpty else { throw EngineError.invalidParameter("steering has no vectors") }
        guard fromPosition >= 0 else { throw EngineError.invalidParameter("steering start position must be >= 0") }
        if let untilPosition, untilPosition <= fromPosition {
            throw EngineError.invalidParameter("steering span must end after it starts (\(fromPosition)..<\(untilPosition))")
        }
        for (layer, vector) in vectors {
            guard (0..<layerCount).contains(layer) else { throw EngineError.layerOutOfRange(layer: layer, layerCount: layerCount) }
            guard layer >= 1 else { throw EngineError.steeringLayerNotSteerable(layer: layer) }
            guard vector.count == width else { throw EngineError.vectorWidthMismatch(got: vector.count, expected: width) }
            guard vector.allSatisfy(\.isFinite) else { throw EngineError.invalidParameter("steering vector for layer \(layer) has non-finite values") }
        }
    }

    /// The buffer `llama_set_adapter_cvec` wants: one block per layer from layer 1 on,
    /// zeros where no vector is set (llama.cpp keeps stale data for blocks not passed).
    func adapterBuffer(layerCount: Int, width: Int) -> [Float] {
        var buffer = [Float](repeating: 0, count: width * (layerCount - 1))
        for (layer, vector) in vectors {
            buffer.replaceSubrange((layer - 1) * width..<layer * width, with: vector)
        }
        return buffer
    }
}
