internal import CLlama
import Foundation

/// llama.cpp's control-vector file: a GGUF with architecture "controlvector" and one F32
/// tensor `direction.N` of the model's width per layer N. llama.cpp adds `direction.N` to
/// the output of block N, the tensor this project calls `l_out-N`, so steering at layer N is
/// `direction.N` unchanged, read and written here alone. Layer 0 has no slot in llama.cpp.
extension Steering {
    /// Writes the steering's vectors as a control-vector GGUF, one `direction.N` per layer
    /// from 1 on, as they would be added (already scaled).
    public func writeControlVector(to url: URL) throws {
        let tensors = vectors.keys.sorted().filter { $0 >= 1 }.map { (name: "direction.\($0)", values: vectors[$0] ?? []) }
        guard !tensors.isEmpty else { throw EngineError.invalidParameter("no layers from 1 on to export") }
        var writer = GGUFWriter()
        writer.header(tensorCount: tensors.count, keyValueCount: 2)
        writer.keyValue("general.architecture", string: "controlvector")
        writer.keyValue("controlvector.layer_count", uint32: UInt32(tensors.count))
        var offset: UInt64 = 0
        for tensor in tensors {
            writer.tensorInfo(name: tensor.name, dimensions: [UInt64(tensor.values.count)], offset: offset)
            offset += UInt64(GGUFWriter.aligned(tensor.values.count * 4))
        }
        writer.alignToData()
        for tensor in tensors { writer.tensorData(tensor.values) }
        try writer.data.write(to: url, options: .atomic)
    }

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

/// The small subset of GGUF version 3 needed to write F32 tensors with string and u32 metadata.
struct GGUFWriter {
    static let alignment = 32
    var data = Data()

    static func aligned(_ size: Int) -> Int { (size + alignment - 1) / alignment * alignment }

    mutating func append<T: FixedWidthInteger>(_ value: T) { withUnsafeBytes(of: value.littleEndian) { data.append(contentsOf: $0) } }

    mutating func string(_ text: String) {
        append(UInt64(text.utf8.count))
        data.append(contentsOf: Array(text.utf8))
    }

    mutating func header(tensorCount: Int, keyValueCount: Int) {
        data.append(contentsOf: Array("GGUF".utf8))
        append(UInt32(3))
        append(UInt64(tensorCount))
        append(UInt64(keyValueCount))
    }

    mutating func keyValue(_ key: String, string value: String) {
        string(key)
        append(UInt32(8))  // GGUF_TYPE_STRING
        string(value)
    }

    mutating func keyValue(_ key: String, uint32 value: UInt32) {
        string(key)
        append(UInt32(4))  // GGUF_TYPE_UINT32
        append(value)
    }

    mutating func tensorInfo(name: String, dimensions: [UInt64], offset: UInt64) {
        string(name)
        append(UInt32(dimensions.count))
        for dimension in dimensions { append(dimension) }
        append(UInt32(0))  // GGML_TYPE_F32
        append(offset)
    }

    mutating func alignToData() {
        data.append(contentsOf: [UInt8](repeating: 0, count: Self.aligned(data.count) - data.count))
    }

    mutating func tensorData(_ values: [Float]) {
        for value in values { append(value.bitPattern) }
        data.append(contentsOf: [UInt8](repeating: 0, count: Self.aligned(values.count * 4) - values.count * 4))
    }
}
