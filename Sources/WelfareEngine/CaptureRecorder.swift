internal import CLlama

/// Receives llama.cpp's `cb_eval` calls and copies the requested `l_out-N` rows.
///
/// Two traps shape this type: the callback fires once per ubatch, so the session tells it
/// which positions the current ubatch holds; and the last layer's `l_out` keeps only the
/// rows marked for output, so rows are matched to output positions when counts say so.
/// Rows are keyed by a number the session chooses: the token position for one sequence,
/// or the row of the token in the packed batch when several texts share one decode.
/// It is touched only from inside `llama_decode`, which the owning session calls
/// synchronously, so there is no concurrent access.
final class CaptureRecorder {
    private(set) var isActive = false
    private var wantedLayer: [Bool]
    private var wantedPositions: Set<Int> = []
    private let width: Int
    /// When set, the graph stops after this layer's `l_out` is copied: a forward pass that
    /// only captures skips the layers above it and the output head (the 262k-row
    /// vocabulary matrix is most of a small model's compute).
    private var stopAfterLayer: Int?
    /// Keys of the tokens in the ubatch being decoded, and the subset marked for output.
    var chunkPositions: [Int] = []
    var chunkOutputPositions: [Int] = []
    /// layer -> position -> vector
    private(set) var recorded: [Int: [Int: [Float]]] = [:]
    private(set) var unexpectedShapes = 0

    init(layerCount: Int, width: Int) {
        wantedLayer = Array(repeating: false, count: layerCount)
        self.width = width
    }

    func start(layers: [Int], positions: Set<Int>, stopAfterLastLayer: Bool = false) {
        wantedLayer = wantedLayer.indices.map { layers.contains($0) }
        wantedPositions = positions
        stopAfterLayer = stopAfterLastLayer ? layers.max() : nil
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

    /// Copies the wanted rows; returns false when the rest of the graph is not needed.
    func observe(_ tensor: UnsafeMutablePointer<ggml_tensor>) -> Bool {
        guard isActive, let name = ggml_get_name(tensor), let layer = wantedLayerIndex(name) else { return true }
        record(tensor, layer: layer)
        return layer != stopAfterLayer
    }

    private func record(_ tensor: UnsafeMutablePointer<ggml_tensor>, layer: Int) {
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
    /// With `keys`, only rows keyed in that range are taken, and position = key - lowerBound.
    func collect(layers: [Int], keys: Range<Int>? = nil, tokenAt: (Int) -> Token) -> Activations {
        let sortedLayers = layers.sorted()
        let recordedKeys = Set(recorded.values.flatMap { $0.keys })
        let chosen = (keys.map { range in recordedKeys.filter { range.contains($0) } } ?? recordedKeys).sorted()
        let offset = keys?.lowerBound ?? 0
        var values = [Float]()
        values.reserveCapacity(sortedLayers.count * chosen.count * width)
        let zero = [Float](repeating: 0, count: width)
        for layer in sortedLayers {
            for key in chosen {
                values += recorded[layer]?[key] ?? zero
            }
        }
        let positions = chosen.map { $0 - offset }
        return Activations(width: width, layers: sortedLayers, positions: positions,
                           tokens: positions.map(tokenAt), values: values)
    }
}

/// The C entry point llama.cpp calls; `userData` is an unretained `CaptureRecorder`.
/// In the asking phase it answers only for wanted tensors, so the scheduler splits the
/// graph at those alone; in the data phase, false tells the scheduler to skip the rest of
/// the graph (used only by forward passes that capture and need no logits).
let captureCallback: ggml_backend_sched_eval_callback = { tensor, ask, userData in
    guard let tensor, let userData else { return false }
    let recorder = Unmanaged<CaptureRecorder>.fromOpaque(userData).takeUnretainedValue()
    if ask { return recorder.shouldObserve(tensor) }
    return recorder.observe(tensor)
}
