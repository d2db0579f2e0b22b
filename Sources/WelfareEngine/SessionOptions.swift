import Foundation

public struct SessionOptions: Sendable, Equatable {
    /// Tokens each sequence may hold (prompt plus generated); with `unifiedKV`, the tokens
    /// all sequences of one call hold together.
    public var contextLength: Int
    /// How many independent conversations can be decoded together.
    public var sequences: Int
    /// CPU threads; defaults to the machine's cores (llama.cpp's own default oversubscribes
    /// small machines: 39 vs 95 tok/s measured on 2 cores).
    public var threads: Int
    /// Largest number of tokens sent to llama.cpp in one decode call.
    public var batchSize: Int
    /// One KV cache shared by all sequences. Needed to pack several texts into one capture
    /// pass (`captureEach`); off by default because batched generation keeps its
    /// one-by-one equality only with a stream per sequence.
    public var unifiedKV: Bool

    public init(contextLength: Int = 4096, sequences: Int = 1,
                threads: Int = ProcessInfo.processInfo.activeProcessorCount, batchSize: Int = 512,
                unifiedKV: Bool = false) {
        self.contextLength = contextLength
        self.sequences = sequences
        self.threads = threads
        self.batchSize = batchSize
        self.unifiedKV = unifiedKV
    }

    func validate() throws {
        guard contextLength >= 16 else { throw EngineError.invalidParameter("context length must be >= 16") }
        guard (1...256).contains(sequences) else { throw EngineError.invalidParameter("sequences must be in 1...256") }
        guard threads >= 1 else { throw EngineError.invalidParameter("threads must be >= 1") }
        guard batchSize >= 1 else { throw EngineError.invalidParameter("batch size must be >= 1") }
    }
}
