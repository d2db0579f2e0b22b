import Foundation
import WelfareCore
import WelfareEngine

/// llama.cpp's control-vector file: a GGUF with architecture "controlvector" and one F32
/// tensor `direction.N` of the model's width per layer N. llama.cpp adds `direction.N` to
/// the output of block N, the tensor this project calls `l_out-N`, so pack layer N is
/// written as `direction.N` unchanged. Layer 0 has no slot in llama.cpp and is skipped.
public enum ControlVectorGGUF {
    public static func write(pack: VectorPack, name: String, layers: [Int], strength: Float, to url: URL) throws {
        var tensors: [(name: String, values: [Float])] = []
        for layer in layers.sorted() where layer >= 1 {
            guard let vector = pack.scaled(name, layer: layer, fraction: strength) else {
                throw EngineError.layerOutOfRange(layer: layer, layerCount: pack.layerCount)
            }
            tensors.append(("direction.\(layer)", vector))
        }
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
