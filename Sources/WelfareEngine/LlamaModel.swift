import WelfareCore
internal import CLlama
import Foundation

public typealias Token = Int32

/// A loaded GGUF model. Owns the `llama_model` pointer; immutable after loading, so it can
/// be shared between sessions and tasks (llama.cpp only reads the weights and vocabulary).
public final class LlamaModel: @unchecked Sendable {
    let pointer: OpaquePointer
    let vocab: OpaquePointer
    public let facts: ModelFacts

    public var layerCount: Int { facts.layerCount }
    public var embeddingWidth: Int { facts.embeddingWidth }

    /// Loads a model after checking that the file exists and is GGUF, so that bad input
    /// gives a clear error rather than whatever llama.cpp does with it.
    ///
    /// `repackWeights` lets llama.cpp repack weights into CPU-specific layouts. It is off by
    /// default: with it, batches of different sizes run different kernels whose rounding
    /// differs, so batched greedy output can drift from one-by-one output; measured here it
    /// made no speed difference for the default model (BENCHMARKS.md).
    public init(path: String, repackWeights: Bool = false) throws {
        try GGUFFile.validate(path: path)
        LlamaBackend.ensureInitialised()
        LlamaBackend.clearRecentErrors()
        var params = llama_model_default_params()
        params.n_gpu_layers = 0
        params.use_extra_bufts = repackWeights
        guard let model = llama_model_load_from_file(path, params) else {
            throw EngineError.modelLoadFailed(
                path: path, detail: LlamaBackend.lastError() ?? "llama.cpp rejected the file (truncated or corrupt?)")
        }
        guard let vocab = llama_model_get_vocab(model) else {
            llama_model_free(model)
            throw EngineError.modelLoadFailed(path: path, detail: "model has no vocabulary")
        }
        pointer = model
        self.vocab = vocab
        facts = LlamaModel.readFacts(model: model, vocab: vocab, path: path)
    }

    deinit {
        llama_model_free(pointer)
    }

    private static func readFacts(model: OpaquePointer, vocab: OpaquePointer, path: String) -> ModelFacts {
        var metadata: [String: String] = [:]
        for index in 0..<llama_model_meta_count(model) {
            let key = readCString { llama_model_meta_key_by_index(model, index, $0, $1) }
            let value = readCString { llama_model_meta_val_str_by_index(model, index, $0, $1) }
            if let key, let value { metadata[key] = value }
        }
        let template = llama_model_chat_template(model, nil).map { String(cString: $0) }
        return ModelFacts(
            path: path,
            architecture: metadata["general.architecture"] ?? "unknown",
            description: readCString { llama_model_desc(model, $0, $1) } ?? "",
            layerCount: Int(llama_model_n_layer(model)),
            embeddingWidth: Int(llama_model_n_embd(model)),
            trainedContextLength: Int(llama_model_n_ctx_train(model)),
            vocabularySize: Int(llama_vocab_n_tokens(vocab)),
            parameterCount: llama_model_n_params(model),
            sizeBytes: llama_model_size(model),
            chatTemplate: template,
            metadata: metadata)
    }

    /// Calls a llama.cpp "write into buf, return needed length" function, growing the
    /// buffer once if the first guess was short.
    static func readCString(_ body: (UnsafeMutablePointer<CChar>, Int) -> Int32) -> String? {
        var capacity = 256
        for _ in 0..<2 {
            var buffer = [CChar](repeating: 0, count: capacity)
            let needed = Int(buffer.withUnsafeMutableBufferPointer { body($0.baseAddress!, capacity) })
            if needed < 0 { return nil }
            if needed < capacity {
                return String(decoding: buffer[0..<needed].map { UInt8(bitPattern: $0) }, as: UTF8.self)
            }
            capacity = needed + 1
        }
        return nil
    }

    // MARK: - Tokens and text

    /// Tokenizes text. `addSpecial` adds BOS where the model asks for it; `parseSpecial`
    /// turns control-token text such as `<start_of_turn>` into the control tokens (as a
    /// chat-templated prompt needs).
    public func tokenize(_ text: String, addSpecial: Bool = true, parseSpecial: Bool = true) throws -> [Token] {
        let utf8 = Array(text.utf8)
        var capacity = utf8.count + 8
        for _ in 0..<2 {
            var tokens = [Token](repeating: 0, count: capacity)
            let count = utf8.withUnsafeBufferPointer { bytes in
                bytes.withMemoryRebound(to: CChar.self) { chars in
                    llama_tokenize(vocab, chars.baseAddress, Int32(utf8.count), &tokens, Int32(capacity),
                                   addSpecial, parseSpecial)
                }
            }
            if count == Int32.min { throw EngineError.tokenizationFailed("text too long") }
            if count >= 0 { return Array(tokens.prefix(Int(count))) }
            capacity = Int(-count)
        }
        throw EngineError.tokenizationFailed("token count changed between calls")
    }

    /// The bytes of one token. Pieces can end inside a multi-byte character, so callers
    /// that stream text join bytes before decoding them (see `UTF8Accumulator`).
    public func pieceBytes(_ token: Token, special: Bool = false) -> [UInt8] {
        var buffer = [CChar](repeating: 0, count: 64)
        var count = llama_token_to_piece(vocab, token, &buffer, Int32(buffer.count), 0, special)
        if count < 0 {
            buffer = [CChar](repeating: 0, count: Int(-count))
            count = llama_token_to_piece(vocab, token, &buffer, Int32(buffer.count), 0, special)
        }
        return buffer.prefix(max(0, Int(count))).map { UInt8(bitPattern: $0) }
    }

    /// The text of a token sequence (invalid UTF-8 is repaired, never trapped on).
    public func detokenize(_ tokens: [Token], special: Bool = false) -> String {
        String(decoding: tokens.flatMap { pieceBytes($0, special: special) }, as: UTF8.self)
    }

    public func isEndOfGeneration(_ token: Token) -> Bool {
        llama_vocab_is_eog(vocab, token)
    }

    /// Control tokens (turn markers, BOS/EOS) are never shown as text; a model that emits
    /// one, such as a base model writing `<start_of_turn>`, has left its reply.
    public func isControl(_ token: Token) -> Bool {
        llama_vocab_get_attr(vocab, token).rawValue & LLAMA_TOKEN_ATTR_CONTROL.rawValue != 0
    }

    // MARK: - Chat template

    /// The model's own template, or for a GGUF without one (base models such as the
    /// embedded Gemma 3 270M) the llama.cpp built-in format of its family, else ChatML.
    public var effectiveChatTemplate: String {
        if let own = facts.chatTemplate { return own }
        return facts.architecture.hasPrefix("gemma") ? "gemma" : "chatml"
    }

    /// Renders messages with the model's own chat template (llama.cpp's built-in list of
    /// known formats). `addAssistantPrefix` ends the text where the model's reply begins.
    public func applyChatTemplate(_ messages: [ChatMessage], addAssistantPrefix: Bool = true) throws -> String {
        guard !messages.isEmpty else { throw EngineError.emptyPrompt }
        let template = effectiveChatTemplate
        let roles = messages.map { strdup($0.role.rawValue) }
        let contents = messages.map { strdup($0.content) }
        defer {
            roles.forEach { free($0) }
            contents.forEach { free($0) }
        }
        let chat = zip(roles, contents).map { llama_chat_message(role: $0, content: $1) }
        var capacity = messages.reduce(256) { $0 + $1.content.utf8.count * 2 }
        for _ in 0..<2 {
            var buffer = [CChar](repeating: 0, count: capacity)
            let needed = llama_chat_apply_template(template, chat, chat.count, addAssistantPrefix, &buffer, Int32(capacity))
            if needed < 0 {
                throw EngineError.chatTemplateFailed("llama.cpp does not know this model's template format")
            }
            if Int(needed) <= capacity {
                return String(decoding: buffer.prefix(Int(needed)).map { UInt8(bitPattern: $0) }, as: UTF8.self)
            }
            capacity = Int(needed) + 1
        }
        throw EngineError.chatTemplateFailed("template output size changed between calls")
    }
}

/// Joins token bytes and releases only complete UTF-8 characters, so streamed text never
/// shows a broken character when a token ends mid-character.
public struct UTF8Accumulator: Sendable {
    private var pending: [UInt8] = []

    public init() {}

    public mutating func append(_ bytes: [UInt8]) -> String {
        pending += bytes
        let complete = completePrefixLength(pending)
        let text = String(decoding: pending[0..<complete], as: UTF8.self)
        pending.removeFirst(complete)
        return text
    }

    /// Whatever is left, with invalid bytes replaced.
    public mutating func flush() -> String {
        defer { pending.removeAll() }
        return String(decoding: pending, as: UTF8.self)
    }

    private func completePrefixLength(_ bytes: [UInt8]) -> Int {
        // Walk back over at most 3 continuation bytes to find the last lead byte.
        var index = bytes.count - 1
        var continuation = 0
        while index >= 0 && continuation < 4 && bytes[index] & 0xC0 == 0x80 {
            index -= 1
            continuation += 1
        }
        guard index >= 0 else { return bytes.count }
        let lead = bytes[index]
        let expected: Int
        switch lead {
        case 0x00...0x7F: expected = 1
        case 0xC0...0xDF: expected = 2
        case 0xE0...0xEF: expected = 3
        case 0xF0...0xF7: expected = 4
        default: expected = 1
        }
        return continuation + 1 >= expected ? bytes.count : index
    }
}
