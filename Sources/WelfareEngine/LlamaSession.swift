internal import CLlama
import Foundation

/// The one owner of a `llama_context`: decoding, sampling, capture and steering all go
/// through it. An actor on a thread of its own (`DecodeThread`), so a session can be shared
/// by tasks without two decodes ever touching the context at once, and without decoding on
/// the cooperative pool. `generateShared` decodes concurrent requests together in slots
/// that keep their KV cache (LlamaSession+Slots.swift); every other operation has the
/// context to itself and starts from an empty KV cache, except that `nextTokenLogits`
/// reuses the prefix it shares with the call just before.
public actor LlamaSession {
    public nonisolated let model: LlamaModel
    public nonisolated let options: SessionOptions
    private let handle: ContextHandle
    let recorder: CaptureRecorder
    var context: OpaquePointer { handle.context }
    var memory: llama_memory_t { handle.memory }
    var batch: llama_batch {
        get { handle.batch }
        set { handle.batch = newValue }
    }
    private var installedSteering: Steering?
    private var steeringEnabled = false
    private var defaultResidualNorms: [Float]?
    /// The tokens sequence 0 holds after an unsteered `nextTokenLogits`; nil once anything
    /// else has used the cache.
    var cachedTokens: [Token]?
    /// Shared generation (`generateShared`): the slots, one per sequence, and the requests
    /// waiting for one.
    var slots: [Slot]
    var waiting: [SlotRequest] = []
    var looping = false
    var useCount = 0
    var reusedPromptTokens = 0
    var decodedPromptTokens = 0
    /// Operations that need the whole context (everything but `generateShared`) wait for
    /// the slots to drain, and hold new requests back until they are done.
    var exclusiveWaiting = 0
    var drainWaiters: [CheckedContinuation<Void, Never>] = []
    private nonisolated let thread: DecodeThread

    public nonisolated var unownedExecutor: UnownedSerialExecutor { thread.asUnownedSerialExecutor() }

    public init(model: LlamaModel, options: SessionOptions = SessionOptions()) throws {
        try options.validate()
        self.model = model
        self.options = options
        let recorder = CaptureRecorder(layerCount: model.layerCount, width: model.embeddingWidth)
        var params = llama_context_default_params()
        // With one shared cache the sequences share its cells; otherwise each stream gets its own.
        params.n_ctx = UInt32(options.unifiedKV ? options.contextLength : options.contextLength * options.sequences)
        params.n_batch = UInt32(options.batchSize)
        params.n_ubatch = UInt32(options.batchSize)
        params.n_seq_max = UInt32(options.sequences)
        params.n_threads = Int32(options.threads)
        params.n_threads_batch = Int32(options.threads)
        // By default, separate KV streams per sequence: each attends over its own cells
        // only, which keeps batched generation equal to one-by-one results.
        params.kv_unified = options.unifiedKV
        params.cb_eval = captureCallback
        params.cb_eval_user_data = Unmanaged.passUnretained(recorder).toOpaque()
        LlamaBackend.clearRecentErrors()
        guard let context = llama_init_from_model(model.pointer, params) else {
            throw EngineError.contextCreationFailed(detail: LlamaBackend.lastError() ?? "llama_init_from_model returned NULL")
        }
        guard let memory = llama_get_memory(context) else {
            llama_free(context)
            throw EngineError.contextCreationFailed(detail: "context has no memory")
        }
        self.handle = ContextHandle(context: context, memory: memory,
                                    batch: llama_batch_init(Int32(max(options.batchSize, options.sequences)), 0, 1))
        self.recorder = recorder
        self.slots = Array(repeating: Slot(), count: options.sequences)
        self.thread = DecodeThread(name: "llama-decode")
    }

    deinit { thread.stop() }

    // MARK: - Public operations

    /// Generates a continuation of `prompt` (already templated text, or tokens).
    /// `onToken` sees each token as it is produced, for streaming. A cancelled task stops
    /// between tokens with `CancellationError`.
    public func generate(prompt: String, parameters: GenerationParameters = .init(),
                         capture: CaptureRequest? = nil, steering: Steering? = nil,
                         onToken: (@Sendable (GeneratedToken) -> Void)? = nil) async throws -> Generation {
        // Checked on the text: tokenizing "" still yields a BOS token.
        guard !prompt.isEmpty else { throw EngineError.emptyPrompt }
        return try await generate(tokens: model.tokenize(prompt), parameters: parameters, capture: capture,
                                  steering: steering, onToken: onToken)
    }

    public func generate(tokens prompt: [Token], parameters: GenerationParameters = .init(),
                         capture: CaptureRequest? = nil, steering: Steering? = nil,
                         onToken: (@Sendable (GeneratedToken) -> Void)? = nil) async throws -> Generation {
        await beginExclusive()
        defer { endExclusive() }
        try parameters.validate()
        try checkPrompt(prompt)
        try steering?.validate(layerCount: model.layerCount, width: model.embeddingWidth)
        try prepare(steering: steering)
        var outputs: Set<Int> = [prompt.count - 1]
        if let capture {
            try capture.validate(layerCount: model.layerCount)
            let positions = try capture.promptPositions(count: prompt.count)
            recorder.start(layers: capture.layers, positions: positions)
            outputs = outputRows(count: prompt.count, captured: positions, layers: capture.layers)
        }
        defer { recorder.stop() }
        // In the blocks shared generation decodes prompts in, so both give the same tokens.
        try decode(prompt, from: 0, sequence: 0, outputs: outputs, steering: steering, chunk: Self.logitsBlock)

        let sampler = try TokenSampler(parameters: parameters)
        var state = SequenceState(promptCount: prompt.count, parameters: parameters)
        var position = prompt.count
        while let token = state.next(sampler: sampler, context: context, batchIndex: -1, model: model,
                                     contextLength: options.contextLength, onToken: onToken) {
            // A cancelled caller (a client that went away) frees the session at the next token.
            try Task.checkCancellation()
            if capture?.includeGenerated == true { recorder.addPositions([position]) }
            try decode([token], from: position, sequence: 0, outputs: [position], steering: steering)
            position += 1
        }
        var generation = state.finish(model: model)
        if let capture {
            let all = prompt + generation.tokens
            generation.activations = recorder.collect(layers: capture.layers) { all[$0] }
        }
        return generation
    }

    /// Runs `tokens` through the model and returns the requested activations, without
    /// generating (one forward pass).
    /// The pass stops after the highest requested layer, so neither the layers above it
    /// nor the output head are computed.
    public func capture(tokens: [Token], request: CaptureRequest, steering: Steering? = nil) async throws -> Activations {
        await beginExclusive()
        defer { endExclusive() }
        return try captureNow(tokens: tokens, request: request, steering: steering)
    }

    private func captureNow(tokens: [Token], request: CaptureRequest, steering: Steering? = nil) throws -> Activations {
        try checkPrompt(tokens)
        try request.validate(layerCount: model.layerCount)
        try steering?.validate(layerCount: model.layerCount, width: model.embeddingWidth)
        try prepare(steering: steering)
        let positions = try request.promptPositions(count: tokens.count)
        recorder.start(layers: request.layers, positions: positions, stopAfterLastLayer: true)
        defer { recorder.stop() }
        try decode(tokens, from: 0, sequence: 0, outputs: outputRows(count: tokens.count, captured: positions, layers: request.layers),
                   steering: steering)
        return recorder.collect(layers: request.layers) { tokens[$0] }
    }

    /// Captures several texts (no steering). On a session with `unifiedKV` and several
    /// sequences, whole texts are packed into one `llama_batch` (one sequence each) up to
    /// the batch size: one KV cache means llama.cpp keeps the batch as a single ubatch in
    /// order, so each row is known. Otherwise, and for a text longer than a batch, texts
    /// go one by one. Results are in the order of `texts`.
    public func captureEach(_ texts: [[Token]], request: CaptureRequest) async throws -> [Activations] {
        await beginExclusive()
        defer { endExclusive() }
        try request.validate(layerCount: model.layerCount)
        for text in texts { try checkPrompt(text) }
        let packs = options.unifiedKV && options.sequences > 1
        var results: [Activations] = []
        results.reserveCapacity(texts.count)
        var next = 0
        while next < texts.count {
            // texts[next..<end] fill at most one batch, one sequence each.
            var end = next + 1
            var filled = texts[next].count
            while packs, end - next < options.sequences, end < texts.count, filled + texts[end].count <= options.batchSize {
                filled += texts[end].count
                end += 1
            }
            if end - next == 1 {
                results.append(try captureNow(tokens: texts[next], request: request))
            } else {
                results += try capturePacked(Array(texts[next..<end]), request: request)
            }
            next = end
        }
        return results
    }

    private func capturePacked(_ texts: [[Token]], request: CaptureRequest) throws -> [Activations] {
        try prepare(steering: nil)
        var wanted: Set<Int> = []
        var ranges: [Range<Int>] = []
        batch.n_tokens = 0
        recorder.chunkPositions.removeAll(keepingCapacity: true)
        recorder.chunkOutputPositions.removeAll(keepingCapacity: true)
        for (sequence, text) in texts.enumerated() {
            let first = Int(batch.n_tokens)
            let positions = try request.promptPositions(count: text.count)
            let outputs = outputRows(count: text.count, captured: positions, layers: request.layers)
            for (position, token) in text.enumerated() {
                let row = first + position
                let output = outputs.contains(position)
                appendToBatch(token, position: position, sequence: Int32(sequence), output: output)
                recorder.chunkPositions.append(row)
                if output { recorder.chunkOutputPositions.append(row) }
                if positions.contains(position) { wanted.insert(row) }
            }
            ranges.append(first..<first + text.count)
        }
        recorder.start(layers: request.layers, positions: wanted, stopAfterLastLayer: true)
        defer { recorder.stop() }
        let code = llama_decode(context, batch)
        guard code == 0 else { throw EngineError.decodeFailed(code: code) }
        return zip(texts, ranges).map { text, range in recorder.collect(layers: request.layers, keys: range) { text[$0] } }
    }

    /// The positions of a text of `count` tokens to mark for output when `captured`
    /// positions of `layers` are recorded: the last token, for its logits, and every captured
    /// position when the last layer is among them, since llama.cpp keeps only output rows in
    /// the last layer (it prunes before that layer's FFN).
    private func outputRows(count: Int, captured: Set<Int>, layers: [Int]) -> Set<Int> {
        layers.contains(model.layerCount - 1) ? captured.union([count - 1]) : [count - 1]
    }

    /// Next-token logits after `tokens` (the full vocabulary). Unsteered calls in a row keep
    /// the cache of the whole blocks of tokens they share with the call before (the same
    /// instructions before different options), so only the rest is decoded. Every call
    /// decodes in the same blocks, since llama.cpp's CPU kernels give slightly different
    /// numbers for a pass split differently: the logits are identical with or without the
    /// kept cache, and a resumed run reads exactly what an uninterrupted one did.
    public func nextTokenLogits(tokens: [Token], steering: Steering? = nil) async throws -> [Float] {
        await beginExclusive()
        defer { endExclusive() }
        try checkPrompt(tokens)
        try steering?.validate(layerCount: model.layerCount, width: model.embeddingWidth)
        let kept = steering == nil ? keepCachedPrefix(of: tokens) : 0
        if kept == 0 { try prepare(steering: steering) }
        cachedTokens = nil
        try decode(Array(tokens[kept...]), from: kept, sequence: 0, outputs: [tokens.count - 1], steering: steering,
                   chunk: Self.logitsBlock)
        if steering == nil { cachedTokens = tokens }
        guard let logits = llama_get_logits_ith(context, -1) else { throw EngineError.decodeFailed(code: -1) }
        return Array(UnsafeBufferPointer(start: logits, count: model.facts.vocabularySize))
    }

    /// Generates for several prompts at once: every step decodes one token of each live
    /// sequence in a single `llama_batch`. Each sequence samples with its own sampler
    /// seeded from `parameters.seed`, so results equal running the prompts one by one.
    public func generateBatch(prompts: [[Token]], parameters: GenerationParameters = .init()) async throws -> [Generation] {
        await beginExclusive()
        defer { endExclusive() }
        guard prompts.count <= options.sequences else {
            throw EngineError.tooManySequences(requested: prompts.count, capacity: options.sequences)
        }
        try parameters.validate()
        for prompt in prompts { try checkPrompt(prompt) }
        try prepare(steering: nil)
        var states = try prompts.map { _ in
            (sampler: try TokenSampler(parameters: parameters), state: SequenceState(promptCount: 0, parameters: parameters))
        }
        var pending: [Token?] = []
        for (index, prompt) in prompts.enumerated() {
            try decode(prompt, from: 0, sequence: Int32(index), outputs: [prompt.count - 1], steering: nil, chunk: Self.logitsBlock)
            states[index].state = SequenceState(promptCount: prompt.count, parameters: parameters)
            pending.append(states[index].state.next(sampler: states[index].sampler, context: context, batchIndex: -1,
                                                    model: model, contextLength: options.contextLength, onToken: nil))
        }
        while pending.contains(where: { $0 != nil }) {
            let live = pending.indices.filter { pending[$0] != nil }
            batch.n_tokens = 0
            for index in live {
                let position = prompts[index].count + states[index].state.tokens.count - 1
                appendToBatch(pending[index]!, position: position, sequence: Int32(index), output: true)
            }
            let code = llama_decode(context, batch)
            guard code == 0 else { throw EngineError.decodeFailed(code: code) }
            for (batchIndex, index) in live.enumerated() {
                pending[index] = states[index].state.next(sampler: states[index].sampler, context: context,
                                                          batchIndex: Int32(batchIndex), model: model,
                                                          contextLength: options.contextLength, onToken: nil)
            }
        }
        return states.indices.map { states[$0].state.finish(model: model) }
    }

    /// Mean L2 norm of the residual stream at each layer over `text` (the first token,
    /// whose norm is atypically large in many models, is left out). With no text, a fixed
    /// neutral passage is used and the result cached.
    public func meanResidualNorms(text: String? = nil) async throws -> [Float] {
        if text == nil, let cached = defaultResidualNorms { return cached }
        await beginExclusive()
        defer { endExclusive() }
        let tokens = try model.tokenize(text ?? Self.referencePassage)
        guard tokens.count > 1 else { throw EngineError.invalidParameter("norm reference text needs at least 2 tokens") }
        let activations = try captureNow(tokens: tokens, request: .allLayers(of: model, positions: .from(1)))
        let norms = activations.layers.map { layer in
            activations.positions.map { position in
                activations.vector(layer: layer, position: position)!.reduce(0) { $0 + $1 * $1 }.squareRoot()
            }.reduce(0, +) / Float(activations.positions.count)
        }
        if text == nil { defaultResidualNorms = norms }
        return norms
    }

    static let referencePassage = """
        The library opens at nine on weekdays and at ten on Saturdays. Books can be borrowed \
        for three weeks and renewed twice, online or at the front desk. The reading room on \
        the second floor has forty desks, power outlets and a printer that accepts cards.
        """

    // MARK: - Decoding

    func checkPrompt(_ tokens: [Token]) throws {
        guard !tokens.isEmpty else { throw EngineError.emptyPrompt }
        guard tokens.count <= options.contextLength else {
            throw EngineError.contextOverflow(tokens: tokens.count, contextLength: options.contextLength)
        }
        let vocabularySize = model.facts.vocabularySize
        if let bad = tokens.first(where: { $0 < 0 || Int($0) >= vocabularySize }) {
            throw EngineError.invalidParameter("token id \(bad) is outside the vocabulary (0..<\(vocabularySize))")
        }
    }

    /// How many leading tokens of `tokens` (whole blocks) sequence 0 already holds from the last
    /// unsteered `nextTokenLogits`, after dropping the rest of its cache; 0 when none can be kept (the
    /// cache was used for anything else since, an SWA cache pruned its start, or llama.cpp
    /// cannot cut the sequence). At least the last token is always decoded, for its logits.
    private func keepCachedPrefix(of tokens: [Token]) -> Int {
        guard let cached = cachedTokens else { return 0 }
        let limit = min(cached.count, tokens.count - 1)
        var common = 0
        while common < limit && cached[common] == tokens[common] { common += 1 }
        common -= common % Self.logitsBlock
        guard common > 0, llama_memory_seq_pos_min(memory, 0) == 0,
              llama_memory_seq_rm(memory, 0, llama_pos(common), -1) else { return 0 }
        return common
    }

    /// The tokens per decode of a prompt (`nextTokenLogits`, `generate`, shared generation),
    /// and the unit in which caches are kept and reused.
    static let logitsBlock = 64

    /// Empties the KV cache and installs (but does not yet enable) the steering vectors.
    private func prepare(steering: Steering?) throws {
        cachedTokens = nil
        forgetSlotCaches()
        // Metadata only: zeroing the buffers (75 MB at 4096 tokens) costs more than a short prompt.
        llama_memory_clear(memory, false)
        try enableSteering(false)
        installedSteering = steering
    }

    func enableSteering(_ on: Bool) throws {
        guard on != steeringEnabled else { return }
        let layers = model.layerCount, width = model.embeddingWidth
        if on, let steering = installedSteering {
            let buffer = steering.adapterBuffer(layerCount: layers, width: width)
            let steered = steering.vectors.keys
            let code = llama_set_adapter_cvec(context, buffer, buffer.count, Int32(width),
                                              Int32(steered.min()!), Int32(steered.max()!))
            guard code == 0 else { throw EngineError.invalidParameter("llama.cpp rejected the steering vector (code \(code))") }
        } else {
            _ = llama_set_adapter_cvec(context, nil, 0, Int32(width), -1, -1)
        }
        steeringEnabled = on
    }

    /// Decodes tokens of one sequence starting at `start`, in chunks that fit a ubatch
    /// (so each capture callback sees exactly one known chunk), switching steering on at
    /// its start position and off at its end.
    private func decode(_ tokens: [Token], from start: Int, sequence: Int32, outputs: Set<Int>,
                        steering: Steering?, chunk: Int? = nil) throws {
        let chunk = min(chunk ?? options.batchSize, options.batchSize)
        var offset = 0
        while offset < tokens.count {
            var end = min(tokens.count, offset + chunk)
            let steerFrom = steering.map { $0.fromPosition - start } ?? Int.max
            let steerUntil = steering?.untilPosition.map { $0 - start } ?? Int.max
            if steerFrom > offset && steerFrom < end { end = steerFrom }
            if steerUntil > offset && steerUntil < end { end = steerUntil }
            try enableSteering(offset >= steerFrom && offset < steerUntil)
            batch.n_tokens = 0
            recorder.chunkPositions.removeAll(keepingCapacity: true)
            recorder.chunkOutputPositions.removeAll(keepingCapacity: true)
            for index in offset..<end {
                let position = start + index
                let output = outputs.contains(position)
                appendToBatch(tokens[index], position: position, sequence: sequence, output: output)
                recorder.chunkPositions.append(position)
                if output { recorder.chunkOutputPositions.append(position) }
            }
            let code = llama_decode(context, batch)
            guard code == 0 else { throw EngineError.decodeFailed(code: code) }
            offset = end
        }
    }

    func appendToBatch(_ token: Token, position: Int, sequence: Int32, output: Bool) {
        let i = Int(batch.n_tokens)
        batch.token[i] = token
        batch.pos[i] = Int32(position)
        batch.n_seq_id[i] = 1
        batch.seq_id[i]![0] = sequence
        batch.logits[i] = output ? 1 : 0
        batch.n_tokens += 1
    }
}

/// The C objects a session owns, freed together when the session goes away.
private final class ContextHandle {
    let context: OpaquePointer
    let memory: llama_memory_t
    var batch: llama_batch

    init(context: OpaquePointer, memory: llama_memory_t, batch: llama_batch) {
        self.context = context
        self.memory = memory
        self.batch = batch
    }

    deinit {
        llama_batch_free(batch)
        llama_free(context)
    }
}
