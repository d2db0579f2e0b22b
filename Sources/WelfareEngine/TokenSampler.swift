internal import CLlama
import Foundation

/// A llama.cpp sampler chain built from `GenerationParameters`; freed with the object.
final class TokenSampler {
    let chain: UnsafeMutablePointer<llama_sampler>

    init(parameters: GenerationParameters) throws {
        var chainParams = llama_sampler_chain_default_params()
        chainParams.no_perf = true
        guard let chain = llama_sampler_chain_init(chainParams) else {
            throw EngineError.invalidParameter("could not create a sampler")
        }
        if parameters.isGreedy {
            llama_sampler_chain_add(chain, llama_sampler_init_greedy())
        } else {
            if parameters.topK > 0 { llama_sampler_chain_add(chain, llama_sampler_init_top_k(Int32(parameters.topK))) }
            if parameters.topP < 1 { llama_sampler_chain_add(chain, llama_sampler_init_top_p(parameters.topP, 1)) }
            llama_sampler_chain_add(chain, llama_sampler_init_temp(parameters.temperature))
            llama_sampler_chain_add(chain, llama_sampler_init_dist(parameters.seed))
        }
        self.chain = chain
    }

    deinit { llama_sampler_free(chain) }

    /// Samples from the logits of output `batchIndex` (-1: the last) and records the
    /// choice in the chain's state.
    func sample(context: OpaquePointer, batchIndex: Int32) -> Token {
        llama_sampler_sample(chain, context, batchIndex)
    }
}

/// The bookkeeping of one sequence being generated: tokens so far, text, stop checks and
/// log-probabilities. Shared by single and batched generation so both stop identically.
struct SequenceState {
    let promptCount: Int
    let parameters: GenerationParameters
    private(set) var tokens: [Token] = []
    private var text = ""
    private var utf8 = UTF8Accumulator()
    private var logprobs: [GeneratedToken] = []
    private var stopReason: StopReason?

    init(promptCount: Int, parameters: GenerationParameters) {
        self.promptCount = promptCount
        self.parameters = parameters
        if parameters.maxTokens == 0 { stopReason = .maxTokens }
    }

    /// Samples the next token and returns it if it must be fed back to the model, or nil
    /// when the sequence has ended (the ending token itself is not fed back).
    mutating func next(sampler: TokenSampler, context: OpaquePointer, batchIndex: Int32, model: LlamaModel,
                       contextLength: Int, onToken: (@Sendable (GeneratedToken) -> Void)?) -> Token? {
        guard stopReason == nil else { return nil }
        let token = sampler.sample(context: context, batchIndex: batchIndex)
        if model.isEndOfGeneration(token) || (parameters.stopAtControlTokens && model.isControl(token)) {
            stopReason = .endOfGeneration
            return nil
        }
        tokens.append(token)
        var generated = GeneratedToken(token: token, text: utf8.append(model.pieceBytes(token)), logprob: nil, topLogprobs: [])
        if let k = parameters.topLogprobs, let logits = llama_get_logits_ith(context, batchIndex) {
            let scored = Logprobs(logits: UnsafeBufferPointer(start: logits, count: model.facts.vocabularySize))
            generated.logprob = scored.logprob(of: token)
            generated.topLogprobs = scored.top(k).map { TokenLogprob(token: $0.token, text: model.detokenize([$0.token]), logprob: $0.logprob) }
            logprobs.append(generated)
        }
        text += generated.text
        onToken?(generated)
        if let stop = parameters.stop.first(where: { !$0.isEmpty && text.contains($0) }) {
            text = String(text[..<text.range(of: stop)!.lowerBound])
            stopReason = .stopString
            return nil
        }
        if tokens.count >= parameters.maxTokens {
            stopReason = .maxTokens
            return nil
        }
        if promptCount + tokens.count >= contextLength {
            stopReason = .contextFull
            return nil
        }
        return token
    }

    mutating func finish(model: LlamaModel) -> Generation {
        if stopReason != .stopString { text += utf8.flush() }
        return Generation(text: text, tokens: tokens, promptTokenCount: promptCount,
                          stopReason: stopReason ?? .maxTokens,
                          logprobs: parameters.topLogprobs == nil ? nil : logprobs, activations: nil)
    }
}

/// Log-softmax over raw logits (before any sampler reshaping), computed once per token.
struct Logprobs {
    let logits: UnsafeBufferPointer<Float>
    let logSumExp: Float

    init(logits: UnsafeBufferPointer<Float>) {
        self.logits = logits
        let maximum = logits.max() ?? 0
        var sum: Double = 0
        for value in logits { sum += Double(expf(value - maximum)) }
        logSumExp = maximum + Float(log(sum))
    }

    func logprob(of token: Token) -> Float { logits[Int(token)] - logSumExp }

    func top(_ k: Int) -> [(token: Token, logprob: Float)] {
        guard k > 0 else { return [] }
        var best: [(token: Token, logit: Float)] = []
        best.reserveCapacity(k + 1)
        for (index, value) in logits.enumerated() where best.count < k || value > best[best.count - 1].logit {
            let insertAt = best.firstIndex { value > $0.logit } ?? best.count
            best.insert((Token(index), value), at: insertAt)
            if best.count > k { best.removeLast() }
        }
        return best.map { ($0.token, $0.logit - logSumExp) }
    }
}
