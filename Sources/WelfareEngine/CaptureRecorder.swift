import CLlama

/// Receives llama.cpp's `cb_eval` calls and copies the requested `l_out-N` rows.
///
/// Two traps shape this type: the callback fires once per ubatch, so the session tells it
/// which positions the current ubatch holds; and the last layer's `l_out` keeps only the
/// rows marked for output, so rows are matched to output positions when counts say so.
/// It is touched only from inside `llama_decode`, which the owning session calls
/// synchronously, so there is no concurrent access.
final class CaptureRecorder {
    private(set) var isActive = false
    private var wantedLayer: [Bool]
    private var wantedPositions: Set<Int> = []
    private let width: Int
    /// Positions of the tokens in the ubatch being decoded, and the subset marked for output.
    var chunkPositions: [Int] = []
    var chunkOutputPositions: [Int] = []
    /// layer -> position -> vector
    private(set) var recorded: [Int: [Int: [Float]]] = [:]
    private(set) var unexpectedShapes = 0

    init(layerCount: Int, width: Int) {
        wantedLayer = Array(repeating: false, count: layerCount)
        self.width = width
    }

    func start(layers: [Int], positions: Set<Int>) {
        wantedLayer = wantedLayer.indices.map { layers.contains($0) }
        wantedPositions = positions
        recorded = [:]
        unexpectedShapes = 0
        isActive = true
    }

    func addPositions(_ positions: some Sequence<Int>) {
        wantedPositions.formUnion(positions)
    }

    func stop() {
        isActive = false
    }

    func wants(position: Int) -> Bool { isActive && wantedPositions.contains(position) }

    private static let prefix: [CChar] = Array("l_out-".utf8CString.dropLast())

    /// Parses "l_out-N" without allocating; returns N for a wanted layer. Called for every
    /// graph node while a capture is active, so the prefix is built once.
    private func wantedLayerIndex(_ name: UnsafePointer<CChar>) -> Int? {
        let prefix = Self.prefix
        for (i, c) in prefix.enumerated() where name[i] != c { return nil }
        var value = 0
        var i = prefix.count
        while name[i] >= 48 && name[i] <= 57 {
            value = value * 10 + Int(name[i] - 48)
            i += 1
        }
        guard i > prefix.count, name[i] == 0, value < wantedLayer.count, wantedLayer[value] else { return nil }
        return value
    }

    func shouldObserve(_ tensor: UnsafeMutablePointer<ggml_tensor>) -> Bool {
        guard isActive, let name = ggml_get_name(tensor) else { return false }
        return wantedLayerIndex(name) != nil
    }

    func observe(_ tensor: UnsafeMutablePointer<ggml_tensor>) {
        guard isActive, let name = ggml_get_name(tensor), let layer = wantedLayerIndex(name) else { return }
        let t = tensor.pointee
        let rows = Int(t.ne.1)
        guard t.type == GGML_TYPE_F32, Int(t.ne.0) == width, t.ne.2 == 1, t.ne.3 == 1 else {
            unexpectedShapes += 1
            return
        }
        let rowPositions: [Int]
        if rows == chunkPositions.count {
            rowPositions = chunkPositions
        } else if rows == chunkOutputPositions.count {
            rowPositions = chunkOutputPositions
        } else {
            unexpectedShapes += 1
            return
        }
        let rowStride = Int(t.nb.1)
        for (row, position) in rowPositions.enumerated() where wantedPositions.contains(position) {
            var vector = [Float](repeating: 0, count: width)
            vector.withUnsafeMutableBytes { buffer in
                ggml_backend_tensor_get(tensor, buffer.baseAddress, row * rowStride, width * MemoryLayout<Float>.size)
            }
            recorded[layer, default: [:]][position] = vector
        }
    }

    /// Packs what was recorded into an `Activations` value in [layer][position] order.
    func collect(layers: [Int], tokenAt: (Int) -> Token) -> Activations {
        let sortedLayers = layers.sorted()
        let positions = Set(recorded.values.flatMap { $0.keys }).sorted()
        var values = [Float]()
        values.reserveCapacity(sortedLayers.count * positions.count * width)
        let zero = [Float](repeating: 0, count: width)
        for layer in sortedLayers {
            for position in positions {
                values += recorded[layer]?[position] ?? zero
            }
        }
        return Activations(width: width, layers: sortedLayers, positions: positions,
                           tokens: positions.map(tokenAt), values: values)
    }
}

/// The C entry point llama.cpp calls; `userData` is an unretained `CaptureRecorder`.
/// In the asking phase it answers only for wanted tensors, so the scheduler splits the
/// graph at those alone; in the data phase it must return true or decoding aborts.
let captureCallback: ggml_backend_sched_eval_callback = { tensor, ask, userData in
    guard let tensor, let userData else { return false }
    let recorder = Unmanaged<CaptureRecorder>.fromOpaque(userData).takeUnretainedValue()
    if ask { return recorder.shouldObserve(tensor) }
    recorder.observe(tensor)
    return true
}
