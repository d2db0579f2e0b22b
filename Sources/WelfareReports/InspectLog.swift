import Foundation
import WelfareCore
import WelfareHarness
import WelfareStore

/// A run as Inspect AI eval logs (the JSON form, log format version 2), one per model, so
/// `inspect view` shows our transcripts and scores and `inspect_ai.log.read_eval_log` reads
/// them. Fields follow Inspect's `EvalLog`; what has no counterpart there (run id, suite hash,
/// per-turn scores, our score details) goes into `metadata`.
public enum InspectLog {
    /// The eval log of one model of a run.
    public static func json(_ data: RunData, model: String) throws -> Data {
        let samples = data.samples(model: model)
        let log = Log(
            version: 2,
            status: status(data, samples),
            eval: Spec(
                eval_id: "\(data.run.id)-\(model)", run_id: data.run.id, created: timestamp(data.run.createdAt),
                task: data.run.suiteName, task_version: data.run.suiteHash, task_description: data.suite.description,
                dataset: Dataset(name: data.run.suiteName, samples: data.suite.samples.count,
                                 sample_ids: data.suite.samples.map(\.id)),
                model: model,
                model_generate_config: GenerateConfig(temperature: data.suite.sampling.temperature, top_p: data.suite.sampling.topP,
                                                      max_tokens: data.suite.sampling.maxTokens, seed: Int(data.settings.seed)),
                config: Config(epochs: data.settings.epochsOverride ?? data.suite.epochs),
                packages: ["modelwelfare": data.run.toolVersion],
                metadata: ["welfare_run": .string(data.run.id), "suite_hash": .string(data.run.suiteHash),
                           "judge": data.settings.judge.map { .string($0) } ?? .null]),
            plan: Plan(name: "plan", steps: [PlanStep(solver: "welfare_scripted_conversation", params: [:])]),
            results: results(data, samples),
            stats: Stats(started_at: timestamp(data.run.createdAt), completed_at: timestamp(data.run.finishedAt ?? data.run.createdAt),
                         model_usage: [model: usage(samples.flatMap(\.messages))]),
            samples: samples.map { sample(data, $0, model: model) })
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        return try encoder.encode(log)
    }

    /// A file name for a model's log: the run id and the model string made safe.
    public static func fileName(_ data: RunData, model: String) -> String {
        let safe = String(model.map { $0.isLetter || $0.isNumber || $0 == "-" || $0 == "." ? $0 : "_" }.prefix(80))
        return "run-\(data.run.id)-\(safe).inspect.json"
    }

    static func status(_ data: RunData, _ samples: [RunData.Sample]) -> String {
        if data.run.status == .running || data.run.status == .creating { return "started" }
        if data.run.status == .interrupted { return "cancelled" }
        return samples.allSatisfy { $0.record.status == .done } ? "success" : "error"
    }

    static func results(_ data: RunData, _ samples: [RunData.Sample]) -> Results {
        let done = samples.filter { $0.record.status == .done }.count
        let scores = data.scorerIDs.map { scorer -> Score in
            let values = samples.compactMap { sampleValue($0, scorer: scorer) }
            let estimate = Statistics.bootstrapMean(values)
            var metrics: [String: Metric] = ["mean": Metric(name: "mean", value: estimate.n > 0 ? estimate.value : 0)]
            if estimate.hasInterval {
                metrics["ci_low"] = Metric(name: "ci_low", value: estimate.low)
                metrics["ci_high"] = Metric(name: "ci_high", value: estimate.high)
            }
            return Score(name: scorer, scorer: data.suite.scorers.first { $0.id == scorer }?.type ?? scorer,
                         scored_samples: values.count, unscored_samples: samples.count - values.count, metrics: metrics)
        }
        return Results(total_samples: samples.count, completed_samples: done, scores: scores)
    }

    /// Inspect holds one score per scorer and sample: the mean over the scored turns.
    static func sampleValue(_ sample: RunData.Sample, scorer: String) -> Double? {
        let values = sample.scores.filter { $0.scorer == scorer }.compactMap(\.value)
        return values.isEmpty ? nil : Statistics.mean(values)
    }

    static func sample(_ data: RunData, _ sample: RunData.Sample, model: String) -> Sample {
        let messages = sample.messages.map { record in
            Message(role: record.role.rawValue, content: record.content, source: record.role == .assistant ? "generate" : "input",
                    model: record.role == .assistant ? model : nil)
        }
        let lastReply = sample.messages.last { $0.role == .assistant }
        var scores: [String: SampleScore] = [:]
        for scorer in data.scorerIDs {
            let turns = sample.scores.filter { $0.scorer == scorer }.sorted { $0.turn < $1.turn }
            guard let value = sampleValue(sample, scorer: scorer) else { continue }
            var metadata: [String: JSONValue] = [:]
            for turn in turns {
                var entry: [String: JSONValue] = ["value": turn.value.map { .number($0) } ?? .null]
                if let label = turn.label { entry["label"] = .string(label) }
                let detail = RunReport.detail(turn)
                if !detail.isEmpty { entry["detail"] = .object(detail.mapValues { .number($0) }) }
                metadata["turn \(turn.turn)"] = .object(entry)
            }
            let evidence = turns.compactMap(\.evidence).last
            scores[scorer] = SampleScore(value: value, answer: turns.last?.label, explanation: evidence ?? turns.compactMap(\.reasoning).last,
                                         metadata: metadata)
        }
        return Sample(
            id: sample.record.sampleId, epoch: sample.record.epoch,
            input: sample.messages.first { $0.role == .user }?.content ?? "", target: "",
            messages: messages,
            output: Output(model: model, choices: lastReply.map {
                [Choice(message: Message(role: "assistant", content: $0.content, source: "generate", model: model),
                        stop_reason: $0.truncated ? "max_tokens" : "stop")]
            } ?? [], usage: usage(sample.messages)),
            scores: scores,
            metadata: sample.metadata.mapValues { .string($0) }.merging(
                ["status": .string(sample.record.status.rawValue), "error": sample.record.error.map { .string($0) } ?? .null]) { a, _ in a },
            error: sample.record.status == .failed ? sample.record.error.map { ErrorInfo(message: $0, traceback: "", traceback_ansi: "") } : nil)
    }

    static func usage(_ messages: [MessageRecord]) -> Usage {
        let input = messages.compactMap(\.promptTokens).reduce(0, +)
        let output = messages.compactMap(\.completionTokens).reduce(0, +)
        return Usage(input_tokens: input, output_tokens: output, total_tokens: input + output)
    }

    static func timestamp(_ date: Date) -> String {
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime]
        return formatter.string(from: date)
    }

    // Inspect's field names, snake case as its JSON has them.
    struct Log: Encodable {
        var version: Int; var status: String; var eval: Spec; var plan: Plan; var results: Results; var stats: Stats
        var samples: [Sample]
    }
    struct Spec: Encodable {
        var eval_id: String; var run_id: String; var created: String; var task: String; var task_version: String
        var task_description: String; var dataset: Dataset; var model: String; var model_generate_config: GenerateConfig
        var config: Config; var packages: [String: String]; var metadata: [String: JSONValue]
    }
    struct Dataset: Encodable { var name: String; var samples: Int; var sample_ids: [String] }
    struct GenerateConfig: Encodable { var temperature: Double; var top_p: Double; var max_tokens: Int; var seed: Int }
    struct Config: Encodable { var epochs: Int }
    struct Plan: Encodable { var name: String; var steps: [PlanStep] }
    struct PlanStep: Encodable { var solver: String; var params: [String: String] }
    struct Results: Encodable { var total_samples: Int; var completed_samples: Int; var scores: [Score] }
    struct Score: Encodable {
        var name: String; var scorer: String; var scored_samples: Int; var unscored_samples: Int; var metrics: [String: Metric]
    }
    struct Metric: Encodable { var name: String; var value: Double }
    struct Stats: Encodable { var started_at: String; var completed_at: String; var model_usage: [String: Usage] }
    struct Usage: Encodable { var input_tokens: Int; var output_tokens: Int; var total_tokens: Int }
    struct Message: Encodable { var role: String; var content: String; var source: String; var model: String? }
    struct Choice: Encodable { var message: Message; var stop_reason: String }
    struct Output: Encodable { var model: String; var choices: [Choice]; var usage: Usage }
    struct SampleScore: Encodable { var value: Double; var answer: String?; var explanation: String?; var metadata: [String: JSONValue] }
    struct ErrorInfo: Encodable { var message: String; var traceback: String; var traceback_ansi: String }
    struct Sample: Encodable {
        var id: String; var epoch: Int; var input: String; var target: String; var messages: [Message]; var output: Output
        var scores: [String: SampleScore]; var metadata: [String: JSONValue]; var error: ErrorInfo?
    }
}

/// Any JSON value, for metadata fields whose shape varies.
public enum JSONValue: Encodable, Sendable, Equatable {
    case string(String), number(Double), bool(Bool), null
    case object([String: JSONValue])

    public func encode(to encoder: Encoder) throws {
        var container = encoder.singleValueContainer()
        switch self {
        case .string(let value): try container.encode(value)
        case .number(let value): if value.isFinite { try container.encode(value) } else { try container.encodeNil() }
        case .bool(let value): try container.encode(value)
        case .null: try container.encodeNil()
        case .object(let value): try container.encode(value)
        }
    }
}
