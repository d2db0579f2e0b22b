internal import CLlama
import Foundation

extension Steering {
    /// Reads a llama.cpp control-vector GGUF (`direction.N` tensors, F32, one row of the
    /// model's width, N >= 1 being the block whose output it is added to) with ggml's own
    /// GGUF reader, under the rules llama.cpp's `--control-vector` loader applies, and
    /// multiplies it by `scale`. Repeated layers add up, as they do there.
    public static func controlVector(path: String, scale: Float = 1, layerCount: Int, width: Int) throws -> Steering {
        do { try GGUFFile.validate(path: path) } catch EngineError.modelFileMissing {
            throw EngineError.invalidParameter("control vector not found: \(path)")
        } catch EngineError.notGGUF(_, let reason) {
            throw EngineError.invalidParameter("the control vector \(path) is not a GGUF file (\(reason))")
        }
        var tensors: OpaquePointer?
        // The reader writes the tensor context through this pointer during the call only.
        let opened = withUnsafeMutablePointer(to: &tensors) { slot in
            gguf_init_from_file(path, gguf_init_params(no_alloc: false, ctx: slot))
        }
        guard let file = opened else {
            throw EngineError.invalidParameter("\(path) cannot be read as a GGUF file")
        }
        defer { gguf_free(file) }
        guard let tensors else { throw EngineError.invalidParameter("\(path) has no tensor data") }
        defer { ggml_free(tensors) }
        var vectors: [Int: [Float]] = [:]
        for index in 0..<gguf_get_n_tensors(file) {
            guard let cName = gguf_get_tensor_name(file, index) else { continue }
            let name = String(cString: cName)
            guard name.hasPrefix("direction."), let layer = Int(name.dropFirst("direction.".count)) else {
                throw EngineError.invalidParameter("\(path): tensor '\(name)' is not named direction.N")
            }
            guard (1..<layerCount).contains(layer) else {
                throw EngineError.invalidParameter("\(path): \(name) is outside layers 1...\(layerCount - 1)")
            }
            guard let tensor = ggml_get_tensor(tensors, cName) else { continue }
            let t = tensor.pointee
            guard t.type == GGML_TYPE_F32, ggml_n_dims(tensor) == 1 else {
                throw EngineError.invalidParameter("\(path): \(name) must be a one-dimensional F32 tensor")
            }
            guard Int(t.ne.0) == width else { throw EngineError.vectorWidthMismatch(got: Int(t.ne.0), expected: width) }
            guard let data = t.data else { continue }
            let values = UnsafeBufferPointer(start: data.assumingMemoryBound(to: Float.self), count: width).map { $0 * scale }
            vectors[layer] = zip(vectors[layer] ?? [Float](repeating: 0, count: width), values).map { $0 + $1 }
        }
        guard !vectors.isEmpty else { throw EngineError.invalidParameter("\(path) has no direction.N tensors") }
        return Steering(vectors: vectors)
    }
}
