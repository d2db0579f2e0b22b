import Foundation
import WelfareCore
import WelfareHarness
import WelfareModels

/// CSV and JSON exports of a run's samples and scores.
public enum Exports {
    /// RFC 4180 quoting; cells that a spreadsheet would run as a formula get a leading quote.
    static func csvCell(_ text: String) -> String {
        var value = text
        if let first = value.first, "=+-@\t\r".contains(first) { value = "'" + value }
        if value.contains(where: { $0 == "," || $0 == "\"" || $0 == "\n" || $0 == "\r" }) {
            value = "\"" + value.replacingOccurrences(of: "\"", with: "\"\"") + "\""
        }
        return value
    }

    public static func csv(_ rows: [[String]]) -> String {
        rows.map { $0.map(csvCell).joined(separator: ",") }.joined(separator: "\n") + "\n"
    }

    public static func samplesCSV(_ data: RunData) -> String {
        var rows = [["run", "model", "sample", "epoch", "status", "error", "turns", "metadata", "first_reply", "last_reply"]]
        for sample in data.samples {
            let record = sample.record
            rows.append([record.runId, record.model, record.sampleId, String(record.epoch), record.status.rawValue, record.error ?? "",
                         String(sample.replies.count), record.metadataJSON, sample.replies.first ?? "", sample.replies.last ?? ""])
        }
        return csv(rows)
    }

    public static func scoresCSV(_ data: RunData) -> String {
        var rows = [["run", "model", "sample", "epoch", "scorer", "turn", "value", "label", "evidence", "reasoning", "detail"]]
        for sample in data.samples {
            for score in sample.scores {
                rows.append([sample.record.runId, sample.record.model, sample.record.sampleId, String(sample.record.epoch), score.scorer,
                             String(score.turn), score.value.map { String($0) } ?? "", score.label ?? "", score.evidence ?? "",
                             score.reasoning ?? "", score.detailJSON ?? ""])
            }
        }
        return csv(rows)
    }

    /// The shape of `json(_:)`; raised when a field changes meaning or goes away. 2 added the
    /// format version, sampling settings, seed, epochs, judge and token usage per message.
    public static let jsonFormatVersion = 2

    struct JSONRun: Encodable {
        struct Message: Encodable {
            var turn: Int; var role: String; var content: String; var cached: Bool; var truncated: Bool
            var promptTokens: Int?; var completionTokens: Int?; var latencyMs: Double?
        }
        struct Score: Encodable {
            var scorer: String; var turn: Int; var value: Double?; var label: String?; var evidence: String?; var reasoning: String?
            /// The scorer's figures beside its value (e.g. a rating's whole distribution).
            var detail: [String: Double]?
        }
        struct Sample: Encodable {
            var model: String; var sample: String; var epoch: Int; var status: String; var error: String?
            var metadata: [String: String]; var messages: [Message]; var scores: [Score]
        }
        var formatVersion: Int
        var run: String; var suite: String; var suiteHash: String; var toolVersion: String; var status: String
        var createdAt: Date; var sampling: SamplingSettings; var seed: UInt32; var epochs: Int; var judge: String?
        var models: [String: [String: String]]; var samples: [Sample]
    }

    public static func json(_ data: RunData) throws -> Data {
        let run = JSONRun(
            formatVersion: jsonFormatVersion,
            run: data.run.id, suite: data.run.suiteName, suiteHash: data.run.suiteHash, toolVersion: data.run.toolVersion,
            status: data.run.status.rawValue, createdAt: data.run.createdAt, sampling: data.suite.sampling, seed: data.settings.seed,
            epochs: data.settings.epochsOverride ?? data.suite.epochs, judge: data.settings.judge, models: data.modelFacts,
            samples: data.samples.map { sample in
                JSONRun.Sample(model: sample.record.model, sample: sample.record.sampleId, epoch: sample.record.epoch,
                               status: sample.record.status.rawValue, error: sample.record.error, metadata: sample.metadata,
                               messages: sample.messages.map { .init(turn: $0.turn, role: $0.role.rawValue, content: $0.content, cached: $0.cached,
                                                                          truncated: $0.truncated, promptTokens: $0.promptTokens,
                                                                          completionTokens: $0.completionTokens, latencyMs: $0.latencyMs) },
                               scores: sample.scores.map { score in
                                   let detail = RunReport.detail(score)
                                   return .init(scorer: score.scorer, turn: score.turn, value: score.value, label: score.label,
                                                evidence: score.evidence, reasoning: score.reasoning, detail: detail.isEmpty ? nil : detail)
                               })
            })
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        encoder.dateEncodingStrategy = .iso8601
        return try encoder.encode(run)
    }
}
