internal import CLlama
import Foundation

/// One sequence of a session used for shared generation: the tokens whose KV it holds
/// (kept after a request ends, for the next request that starts the same way) and the
/// request it is serving, if any.
struct Slot {
    var cached: [Token] = []
    /// How many leading cached tokens were decoded as prompt in whole blocks of
    /// `LlamaSession.logitsBlock` at block-aligned positions: the only part a later request
    /// may reuse (see `admit`).
    var exact = 0
    var lastUsed = 0
    var active: ActiveSequence?
}

/// A request decoding in a slot: prompt tokens not yet decoded, then one sampled token at
/// a time.
struct ActiveSequence {
    let request: SlotRequest
    var remaining: ArraySlice<Token>
    let sampler: TokenSampler
    var state: SequenceState
    /// The token sampled last, to be fed back at the next step.
    var next: Token?
}

/// A call to `generateShared` waiting for its result.
final class SlotRequest: @unchecked Sendable {
    let tokens: [Token]
    let parameters: GenerationParameters
    let onToken: (@Sendable (GeneratedToken) -> Void)?
    let continuation: CheckedContinuation<Generation, any Error>
    let cancelled: CancelFlag

    init(tokens: [Token], parameters: GenerationParameters, onToken: (@Sendable (GeneratedToken) -> Void)?,
         continuation: CheckedContinuation<Generation, any Error>, cancelled: CancelFlag) {
        self.cancelled = cancelled
        self.tokens = tokens
        self.parameters = parameters
        self.onToken = onToken
        self.continuation = continuation
    }
}

/// Set from a cancellation handler (any thread), read by the decode loop.
final class CancelFlag: @unchecked Sendable {
    private let lock = NSLock()
    private var set = false
    var isSet: Bool { lock.withLock { set } }
    func raise() { lock.withLock { set = true } }
}

extension LlamaSession {
    /// A prefix held by another slot is copied (a whole KV stream) rather than recomputed
    /// when it saves at least this many tokens.
    static let copyThreshold = 64

    /// Generates like `generate`, but in one of the session's `options.sequences` slots:
    /// concurrent calls are decoded together, one token of each per `llama_decode`, joining
    /// and leaving between steps. A slot keeps its KV cache when its request ends, and the
    /// next request is given the free slot whose cache shares the longest prefix with its
    /// prompt (else the one idle longest), so only the rest is decoded: for a conversation,
    /// usually just the new turn. No steering or capture here: those have the context to
    /// themselves (`generate`).
    public func generateShared(prompt: String, parameters: GenerationParameters = .init(),
                               onToken: (@Sendable (GeneratedToken) -> Void)? = nil) async throws -> Generation {
        guard !prompt.isEmpty else { throw EngineError.emptyPrompt }
        return try await generateShared(tokens: model.tokenize(prompt), parameters: parameters, onToken: onToken)
    }

    public func generateShared(tokens: [Token], parameters: GenerationParameters = .init(),
                               onToken: (@Sendable (GeneratedToken) -> Void)? = nil) async throws -> Generation {
        try parameters.validate()
        try checkPrompt(tokens)
        let cancelled = CancelFlag()
        return try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { continuation in
                waiting.append(SlotRequest(tokens: tokens, parameters: parameters, onToken: onToken, continuation: continuation,
                                           cancelled: cancelled))
                startSlotsIfNeeded()
            }
        } onCancel: {
            cancelled.raise()
        }
    }

    /// How many prompt tokens a shared generation found already in its slot's cache, summed
    /// over the session's life, and how many it decoded: for benchmarks and tests.
    public var promptTokenCounts: (reused: Int, decoded: Int) { (reusedPromptTokens, decodedPromptTokens) }

    // MARK: - Exclusive use

    /// Waits until no shared generation is running, and keeps new ones waiting until
    /// `endExclusive`. Between the two, the caller must not suspend.
    func beginExclusive() async {
        exclusiveWaiting += 1
        if looping { await withCheckedContinuation { drainWaiters.append($0) } }
    }

    func endExclusive() {
        exclusiveWaiting -= 1
        startSlotsIfNeeded()
    }

    /// After anything that cleared or reused the cache outside the slots.
    func forgetSlotCaches() {
        for index in slots.indices { slots[index] = Slot(lastUsed: slots[index].lastUsed) }
    }

    // MARK: - The decode loop

    func startSlotsIfNeeded() {
        guard !looping, exclusiveWaiting == 0, !waiting.isEmpty else { return }
        looping = true
        Task { await runSlots() }
    }

    private func runSlots() async {
        // The slots use every sequence, so sequence 0's cache is no longer nextTokenLogits's.
        cachedTokens = nil
        do { try enableSteering(false) } catch { failAll(error) }
        while true {
            dropCancelled()
            if exclusiveWaiting == 0 { admit() }
            guard slots.contains(where: { $0.active != nil }) else { break }
            step()
            // Lets new requests, cancellations and exclusive callers in between steps.
            await Task.yield()
        }
        looping = false
        let waiters = drainWaiters
        drainWaiters = []
        for waiter in waiters { waiter.resume() }
        startSlotsIfNeeded()
    }

    private func dropCancelled() {
        waiting.removeAll { request in
            guard request.cancelled.isSet else { return false }
            request.continuation.resume(throwing: CancellationError())
            return true
        }
        for index in slots.indices {
            guard let active = slots[index].active, active.request.cancelled.isSet else { continue }
            active.request.continuation.resume(throwing: CancellationError())
            release(index)
        }
    }

    /// Puts waiting requests into free slots, reusing the longest cached prefix.
    private func admit() {
        while !waiting.isEmpty {
            let free = slots.indices.filter { slots[$0].active == nil }
            guard !free.isEmpty else { return }
            let request = waiting.removeFirst()
            let prompt = request.tokens
            let best = free.max { a, b in
                let (x, y) = (commonPrefix(slots[a].cached, prompt), commonPrefix(slots[b].cached, prompt))
                return x != y ? x < y : slots[a].lastUsed > slots[b].lastUsed
            }!
            let sequence = Int32(best)
            var keep = reusable(slots[best], for: prompt)
            let donor = slots.indices.filter { $0 != best }.max { reusable(slots[$0], for: prompt) < reusable(slots[$1], for: prompt) }
            if let donor, case let shared = reusable(slots[donor], for: prompt), shared >= keep + Self.copyThreshold,
               llama_memory_seq_pos_min(memory, Int32(donor)) <= 0 {
                // Copies the donor's whole stream, then cuts it back to the shared part.
                _ = llama_memory_seq_rm(memory, sequence, -1, -1)
                llama_memory_seq_cp(memory, Int32(donor), sequence, -1, -1)
                slots[best].cached = slots[donor].cached
                keep = shared
            }
            if keep < slots[best].cached.count {
                if llama_memory_seq_pos_min(memory, sequence) > 0 || !llama_memory_seq_rm(memory, sequence, llama_pos(keep), -1) {
                    _ = llama_memory_seq_rm(memory, sequence, -1, -1)
                    keep = 0
                }
            }
            if keep == 0 { _ = llama_memory_seq_rm(memory, sequence, -1, -1) }
            slots[best].cached = Array(prompt[..<keep])
            slots[best].exact = keep
            reusedPromptTokens += keep
            do {
                slots[best].active = ActiveSequence(request: request, remaining: prompt[keep...],
                                                    sampler: try TokenSampler(parameters: request.parameters),
                                                    state: SequenceState(promptCount: prompt.count, parameters: request.parameters))
            } catch {
                request.continuation.resume(throwing: error)
            }
        }
    }

    /// One step: a token of every generating slot in one `llama_decode`, then one chunk of
    /// one joining slot's prompt in a decode of its own. Prompt chunks are not mixed into the
    /// generating batch: llama.cpp splits a batch with several tokens per sequence into
    /// ubatches differently by what else is in it, which moves the logits slightly, and a
    /// request must get the tokens it would get alone.
    private func step() {
        // Greedy tokens come out as each request alone would get them (tested), but batched
        // kernels round slightly differently, so a sampled token at a near-tie can differ
        // from a run alone: with several slots a sampled run is not bit-reproducible.
        let generating = slots.indices.filter { slots[$0].active?.next != nil }
        if !generating.isEmpty {
            batch.n_tokens = 0
            for index in generating {
                appendToBatch(slots[index].active!.next!, position: slots[index].cached.count, sequence: Int32(index), output: true)
            }
            guard decodeBatch() else { return }
            for (row, index) in generating.enumerated() {
                slots[index].cached.append(slots[index].active!.next!)
                sample(index, row: Int32(row))
            }
        }
        // The joining slot that has waited longest goes first.
        let joining = slots.indices.filter { slots[$0].active.map { $0.next == nil && !$0.remaining.isEmpty } ?? false }
        guard let index = joining.min(by: { slots[$0].lastUsed < slots[$1].lastUsed }), let active = slots[index].active else { return }
        // Whole blocks at block-aligned positions, as `generate` decodes a prompt: the same
        // passes give the same numbers, so a reused block is exactly what decoding it again
        // would give (llama.cpp's CPU kernels round differently when a pass is split
        // differently, which can flip a near-tie in greedy decoding).
        let start = slots[index].cached.count
        let chunk = Array(active.remaining.prefix(min(options.batchSize, Self.logitsBlock - start % Self.logitsBlock)))
        let finishes = chunk.count == active.remaining.count
        batch.n_tokens = 0
        for (offset, token) in chunk.enumerated() {
            appendToBatch(token, position: slots[index].cached.count + offset, sequence: Int32(index),
                          output: finishes && offset == chunk.count - 1)
        }
        guard decodeBatch() else { return }
        decodedPromptTokens += chunk.count
        slots[index].cached += chunk
        if chunk.count == Self.logitsBlock && slots[index].exact == start { slots[index].exact += chunk.count }
        slots[index].active?.remaining.removeFirst(chunk.count)
        if finishes { sample(index, row: Int32(chunk.count - 1)) }
    }

    private func decodeBatch() -> Bool {
        let code = llama_decode(context, batch)
        guard code == 0 else {
            failAll(EngineError.decodeFailed(code: code))
            return false
        }
        useCount += 1
        return true
    }

    /// Samples slot `index`'s next token from output `row` of the last decode, and finishes
    /// its request when the sequence has ended.
    private func sample(_ index: Int, row: Int32) {
        guard var active = slots[index].active else { return }
        active.next = active.state.next(sampler: active.sampler, context: context, batchIndex: row, model: model,
                                        contextLength: options.contextLength, onToken: active.request.onToken)
        if active.next == nil {
            active.request.continuation.resume(returning: active.state.finish(model: model))
            release(index)
        } else {
            slots[index].active = active
        }
    }

    private func release(_ index: Int) {
        slots[index].active = nil
        slots[index].lastUsed = useCount
    }

    private func failAll(_ error: any Error) {
        for index in slots.indices {
            guard let active = slots[index].active else { continue }
            active.request.continuation.resume(throwing: error)
            release(index)
            slots[index] = Slot(lastUsed: slots[index].lastUsed)
            _ = llama_memory_seq_rm(memory, Int32(index), -1, -1)
        }
    }

    /// The prompt tokens `slot` can serve from its cache: the shared prefix, within its exact
    /// part, in whole blocks, leaving at least the last token to decode for its logits.
    private func reusable(_ slot: Slot, for prompt: [Token]) -> Int {
        let keep = min(commonPrefix(slot.cached, prompt), slot.exact, prompt.count - 1)
        return keep - keep % Self.logitsBlock
    }

    private func commonPrefix(_ a: [Token], _ b: [Token]) -> Int {
        var count = 0
        let limit = min(a.count, b.count)
        while count < limit && a[count] == b[count] { count += 1 }
        return count
    }
}
