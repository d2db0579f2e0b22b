internal import CLlama
import Foundation

/// A GGUF file's metadata and tensor shapes, read with ggml's own GGUF reader without
/// loading weights or the vocabulary into a model, for tools that only describe a file
/// (the archive's ModelPack config). Arrays are summarised by length.
public struct GGUFMetadata: Sendable {
    public var metadata: [String: String]
    public var parameterCount: UInt64
    public var architecture: String { metadata["general.architecture"] ?? "unknown" }

    public init(path: String) throws {
        try GGUFFile.validate(path: path)
        guard let file = gguf_init_from_file(path, gguf_init_params(no_alloc: true, ctx: nil)) else {
            throw EngineError.notGGUF(path: path, reason: "ggml's GGUF reader could not parse it")
        }
        defer { gguf_free(file) }
        var values: [String: String] = [:]
        for index in 0..<gguf_get_n_kv(file) {
            guard let key = gguf_get_key(file, index) else { continue }
            values[String(cString: key)] = Self.value(file, index)
        }
        var count: UInt64 = 0
        for index in 0..<gguf_get_n_tensors(file) {
            guard let shape = gguf_get_tensor_ne(file, index) else { continue }
            count += (0..<Int(GGML_MAX_DIMS)).reduce(UInt64(1)) { $0 * UInt64(max(1, shape[$1])) }
        }
        metadata = values
        parameterCount = count
    }

    static func value(_ file: OpaquePointer, _ index: Int64) -> String {
        switch gguf_get_kv_type(file, index) {
        case GGUF_TYPE_UINT8: return String(gguf_get_val_u8(file, index))
        case GGUF_TYPE_INT8: return String(gguf_get_val_i8(file, index))
        case GGUF_TYPE_UINT16: return String(gguf_get_val_u16(file, index))
        case GGUF_TYPE_INT16: return String(gguf_get_val_i16(file, index))
        case GGUF_TYPE_UINT32: return String(gguf_get_val_u32(file, index))
        case GGUF_TYPE_INT32: return String(gguf_get_val_i32(file, index))
        case GGUF_TYPE_UINT64: return String(gguf_get_val_u64(file, index))
        case GGUF_TYPE_INT64: return String(gguf_get_val_i64(file, index))
        case GGUF_TYPE_FLOAT32: return String(gguf_get_val_f32(file, index))
        case GGUF_TYPE_FLOAT64: return String(gguf_get_val_f64(file, index))
        case GGUF_TYPE_BOOL: return gguf_get_val_bool(file, index) ? "true" : "false"
        case GGUF_TYPE_STRING: return gguf_get_val_str(file, index).map { String(cString: $0) } ?? ""
        case GGUF_TYPE_ARRAY: return "[\(gguf_get_arr_n(file, index)) values]"
        default: return ""
        }
    }
}
