import ArgumentParser
import Foundation
import WelfareCore
import WelfareEngine
import WelfareModels
import WelfareLocal
import WelfareHarness
import WelfareStore

/// How the engine runs a local model: declared once, for every command that loads one.
struct EngineOptions: ParsableArguments {
    @Option(name: .customLong("threads"), parsing: .unconditional, help: "CPU threads per local model (default: all cores).")
    var threadsGiven: Int?
    @Option(parsing: .unconditional, help: "Context length in tokens for local models.")
    var context: Int = 4096
    @Option(help: "Prompt local models as a plain few-shot dialogue: auto (when the GGUF has no chat template, as base models), on or off.")
    var scaffold: ScaffoldMode = .auto

    /// The threads given, else all cores (left out of the help's defaults, which would print
    /// this machine's count as if it were fixed).
    var threads: Int { threadsGiven ?? ProcessInfo.processInfo.activeProcessorCount }

    func validate() throws {
        if let threadsGiven, threadsGiven < 1 { throw ValidationError("--threads must be at least 1") }
        guard context >= 16 else { throw ValidationError("--context must be at least 16") }
    }
}

/// The local model a white-box command works on (`-m`, default the embedded model).
struct LocalModelChoice: ParsableArguments {
    @Option(name: .shortAndLong, help: "Local GGUF model: a path, local:PATH, or local:default (the embedded Gemma 3 270M).")
    var model = ModelArgument("local:default")
}

/// Which local model to load and how to run it.
struct LocalModelOptions: ParsableArguments {
    @OptionGroup var choice: LocalModelChoice
    @OptionGroup var engine: EngineOptions

    var model: ModelArgument { choice.model }

    func load(sequences: Int = 1) throws -> LlamaSession {
        let path = try model.localPath()
        let loaded = try LlamaModel(path: path)
        return try LlamaSession(model: loaded, options: SessionOptions(contextLength: engine.context, sequences: sequences, threads: engine.threads))
    }
}

/// How every command reaches its models, local or remote: one group, one pool per command.
struct AccessFlags: ParsableArguments {
    @Option(parsing: .unconditional, help: "Requests in flight per remote model.")
    var concurrency: Int = 4
    @Option(name: .customLong("local-batch"), parsing: .unconditional,
            help: "Requests a local model decodes together (continuous batching). 1, the default, keeps sampled runs bit-reproducible.")
    var localBatch: Int = 1
    @Option(parsing: .unconditional, help: "Seconds before a request times out.")
    var timeout: Double = 120
    @Option(parsing: .unconditional, help: "Attempts per request (retries on 429, 5xx, timeouts, dropped connections).")
    var attempts: Int = 6
    @OptionGroup var engine: EngineOptions

    func validate() throws {
        guard concurrency >= 1 else { throw ValidationError("--concurrency must be at least 1") }
        guard (1...64).contains(localBatch) else { throw ValidationError("--local-batch must be in 1...64") }
        guard timeout > 0 else { throw ValidationError("--timeout must be positive") }
        guard attempts >= 1 else { throw ValidationError("--attempts must be at least 1") }
    }

    var options: AccessOptions {
        AccessOptions(concurrency: concurrency, timeoutSeconds: timeout, retry: RetryPolicy(maxAttempts: attempts), threads: engine.threads,
                      contextLength: engine.context, scaffold: engine.scaffold, localBatch: localBatch)
    }

    /// The command's models: a local model named twice (target and judge) loads once.
    func pool() -> ModelPool { .withLocalModels(access: options) }
}

struct SamplingOptions: ParsableArguments {
    @Option(parsing: .unconditional, help: "Sampling temperature; 0 is greedy.")
    var temperature: Float = 0.8
    @Option(name: .customLong("top-p"), parsing: .unconditional, help: "Nucleus sampling threshold.")
    var topP: Float = 0.95
    @Option(name: .customLong("top-k"), parsing: .unconditional, help: "Keep only the k most likely tokens (0: all).")
    var topK: Int = 40
    @Option(parsing: .unconditional, help: "Random seed; the same seed gives the same text.")
    var seed = Seed(0)
    @Option(name: .customLong("max-tokens"), parsing: .unconditional, help: "Most tokens to generate.")
    var maxTokens: Int = 256
    @Option(name: .customLong("stop"), help: "Stop when this text appears (repeatable).")
    var stop: [String] = []

    func validate() throws {
        guard maxTokens >= 0 else { throw ValidationError("--max-tokens must be >= 0") }
        guard topP > 0 && topP <= 1 else { throw ValidationError("--top-p must be in (0, 1]") }
        guard topK >= 0 else { throw ValidationError("--top-k must be >= 0") }
        guard temperature >= 0 && temperature.isFinite else { throw ValidationError("--temperature must be >= 0") }
    }

    var parameters: GenerationParameters {
        GenerationParameters(temperature: temperature, topP: topP, topK: topK, seed: seed.value, maxTokens: maxTokens, stop: stop)
    }
}

/// Prints to stderr, for progress and diagnostics that must not mix with results.
func printError(_ text: String, terminator: String = "\n") {
    FileHandle.standardError.write(Data((text + terminator).utf8))
}

/// A problem with the data a command was given (a file's content, a name not in a pack):
/// reported as one line, without the usage hint argument errors get.
struct InputError: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}

/// Writes a result as pretty JSON with sorted keys. Undefined statistics (a correlation of
/// constant values, a scorer that gave no value) are written as the string "nan", since
/// JSON has no number for them.
func writeJSON<T: Encodable>(_ value: T, to url: URL) throws {
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
    encoder.nonConformingFloatEncodingStrategy = .convertToString(positiveInfinity: "inf", negativeInfinity: "-inf", nan: "nan")
    try encoder.encode(value).write(to: url, options: .atomic)
}


extension ScaffoldMode: ExpressibleByArgument {}

/// The models a suite runs on (`-m`, repeatable).
struct TargetModels: ParsableArguments {
    @Option(name: .shortAndLong, help: "Model string (repeatable): local:default, local:PATH, openai:MODEL[@URL], anthropic:MODEL[@URL].")
    var model: [ModelArgument] = []

    var strings: [String] { model.map(\.text) }

    /// Refuses too few or too many models, saying how many the command takes.
    func require(_ count: ClosedRange<Int> = 1...Int.max, _ message: String = "give at least one --model") throws {
        guard count.contains(model.count) else { throw ValidationError(message) }
    }
}

/// The judge model of a command's judge scorers or calls.
struct JudgeOption: ParsableArguments {
    @Option(help: "Judge model (default: offline scoring only, judge scorers skipped).")
    var judge: ModelArgument?
}

/// How many samples of each prompt and how long each reply, overriding the suite's.
struct SuiteLength: ParsableArguments {
    @Option(parsing: .unconditional, help: "Samples per prompt, 1 to \(SuiteLoader.epochRange.upperBound) (default: the suite's).")
    var epochs: Int?
    @Option(name: .customLong("max-tokens"), parsing: .unconditional, help: "Most tokens per reply (default: the suite's).")
    var maxTokens: Int?

    func validate() throws {
        if let epochs, !SuiteLoader.epochRange.contains(epochs) {
            throw ValidationError("--epochs must be between 1 and \(SuiteLoader.epochRange.upperBound)")
        }
        if let maxTokens, maxTokens < 1 { throw ValidationError("--max-tokens must be at least 1") }
    }

    /// The suite with `--max-tokens` applied.
    func applied(to suite: SuiteSpec) -> SuiteSpec {
        var suite = suite
        if let maxTokens { suite.sampling.maxTokens = maxTokens }
        return suite
    }
}

/// A seed given on the command line: one type, whatever the measure keeps it as.
struct Seed: ExpressibleByArgument, Equatable {
    var value: UInt32

    init(_ value: UInt32) { self.value = value }
    init?(argument: String) {
        guard let value = UInt32(argument) else { return nil }
        self.value = value
    }

    var defaultValueDescription: String { String(value) }
}

/// How long an execution's hold on its run (or a worker's on a sample) lasts without renewal:
/// after it another process may take the work over.
struct LeaseOption: ParsableArguments {
    @Option(parsing: .unconditional, help: "Seconds a lease lasts without renewal; after it another process may take the work over.")
    var lease: Double = 30

    func validate() throws {
        guard lease >= 1, lease <= 3600 else { throw ValidationError("--lease must be between 1 and 3600 seconds") }
    }

    var policy: LeasePolicy { LeasePolicy(seconds: lease) }
}
