/// Which layers and token positions to record from the residual stream (`l_out-N`, the
/// output of block N, 0-based, after any steering vector is added).
public struct CaptureRequest: Sendable, Equatable {
    public enum Positions: Sendable, Equatable {
        case all
        case last
        case from(Int)
        case list([Int])
    }
    public var layers: [Int]
    public var positions: Positions
    /// Also record the tokens generated after the prompt (each is one position).
    public var includeGenerated: Bool

    public init(layers: [Int], positions: Positions = .all, includeGenerated: Bool = false) {
        self.layers = layers
        self.positions = positions
        self.includeGenerated = includeGenerated
    }

    public static func allLayers(of model: LlamaModel, positions: Positions = .all,
                                 includeGenerated: Bool = false) -> CaptureRequest {
        CaptureRequest(layers: Array(0..<model.layerCount), positions: positions, includeGenerated: includeGenerated)
    }

    func validate(layerCount: Int) throws {
        guard !layers.isEmpty else { throw EngineError.invalidParameter("capture needs at least one layer") }
        for layer in layers where !(0..<layerCount).contains(layer) {
            throw EngineError.layerOutOfRange(layer: layer, layerCount: layerCount)
        }
    }

    /// The prompt positions this request selects, for a prompt of `count` tokens.
    func promptPositions(count: Int) throws -> Set<Int> {
        switch positions {
        case .all: return Set(0..<count)
        case .last: return count > 0 ? [count - 1] : []
        case .from(let start):
            guard start >= 0, start < count else { throw EngineError.positionOutOfRange(position: start, tokenCount: count) }
            return Set(start..<count)
        case .list(let list):
            for position in list where !(0..<count).contains(position) {
                throw EngineError.positionOutOfRange(position: position, tokenCount: count)
            }
            return Set(list)
        }
    }
}

/// Residual-stream activations: `values` is laid out [layer][position][width], with
/// `layers` and `positions` (ascending) naming the first two axes.
public struct Activations: Sendable, Equatable {
    public let width: Int
    public let layers: [Int]
    public let positions: [Int]
    /// The token at each entry of `positions`.
    public let tokens: [Token]
    public let values: [Float]

    public init(width: Int, layers: [Int], positions: [Int], tokens: [Token], values: [Float]) {
        self.width = width
        self.layers = layers
        self.positions = positions
        self.tokens = tokens
        self.values = values
    }

    /// The vector of one layer at one position, or nil when it was not captured.
    public func vector(layer: Int, position: Int) -> ArraySlice<Float>? {
        guard let li = layers.firstIndex(of: layer), let pi = positions.firstIndex(of: position) else { return nil }
        let start = (li * positions.count + pi) * width
        return values[start..<start + width]
    }

    /// Mean over the captured positions of one layer (those at or after `first`).
    public func meanVector(layer: Int, from first: Int = 0) -> [Float]? {
        let chosen = positions.indices.filter { positions[$0] >= first }
        guard let li = layers.firstIndex(of: layer), !chosen.isEmpty else { return nil }
        var mean = [Float](repeating: 0, count: width)
        for pi in chosen {
            let start = (li * positions.count + pi) * width
            for d in 0..<width { mean[d] += values[start + d] }
        }
        let scale = 1 / Float(chosen.count)
        return mean.map { $0 * scale }
    }
}
