import Foundation
import WelfareCore
import WelfareHarness
import WelfarePages

/// The page `welfare score` writes: each scorer's values over the replies of a file of
/// transcripts, with sample sizes and 95% intervals, and the records that were skipped.
public enum TranscriptScoreReport {
    public static func render(file: String, format: String, summary: TranscriptScoring.Summary, scorers: [ScorerSpec],
                              registry: ScorerRegistry = .standard) -> String {
        var body = "<h1>Scores of \(HTML.escape(URL(fileURLWithPath: file).lastPathComponent))</h1>"
        body += "<p>\(summary.transcripts) transcripts (\(HTML.escape(format))), \(summary.replies) assistant replies. "
        body += "Each reply is scored in the context of the conversation before it. Replies of one conversation are not "
        body += "independent, so the intervals are optimistic when conversations are long.</p>"
        if summary.toolCalls + summary.toolResults > 0 {
            body += "<p class=\"note\">\(summary.toolCalls) assistant messages that only called tools were kept as context and not scored; "
                + "\(summary.toolResults) tool results were left out (scorers read the user's and the assistant's words).</p>"
        }
        body += "<table><tr><th>scorer</th><th>type</th><th>mean [95% CI] (n)</th><th>share at or above the threshold</th><th>unscored</th></tr>"
        for spec in scorers {
            let values = summary.values[spec.id] ?? []
            var share = "-"
            if case .shareAtLeast(let threshold) = registry.metric(of: spec) {
                share = "&ge; \(ScorerRegistry.number(threshold)): " + Statistics.wilson(successes: values.filter { $0 >= threshold }.count, n: values.count).formatted
            }
            body += "<tr><td>\(HTML.escape(spec.id))</td><td>\(HTML.escape(spec.type))</td><td>\(Statistics.bootstrapMean(values).formatted)</td>"
            body += "<td>\(share)</td><td>\(summary.unscored[spec.id] ?? 0)</td></tr>"
        }
        body += "</table>"
        if !summary.skipped.isEmpty {
            body += "<h2>Skipped records (\(summary.skipped.count))</h2><ul>"
            body += summary.skipped.prefix(200).map { "<li>\(HTML.escape($0))</li>" }.joined()
            body += summary.skipped.count > 200 ? "<li>... and \(summary.skipped.count - 200) more</li></ul>" : "</ul>"
        }
        body += "<p>Per-reply scores: scores.csv and scores.jsonl beside this page.</p>"
        return HTML.page(title: "ModelWelfare scores: \(URL(fileURLWithPath: file).lastPathComponent)", body: body)
    }
}

/// Writes each score of `welfare score` as it is made, to scores.csv and scores.jsonl, so
/// a large file of transcripts never sits in memory.
public final class ScoreFilesWriter {
    let csv: FileHandle
    let jsonl: FileHandle
    public let csvURL: URL
    public let jsonlURL: URL

    public init(folder: URL) throws {
        csvURL = folder.appendingPathComponent("scores.csv")
        jsonlURL = folder.appendingPathComponent("scores.jsonl")
        for url in [csvURL, jsonlURL] { try Data().write(to: url) }
        csv = try FileHandle(forWritingTo: csvURL)
        jsonl = try FileHandle(forWritingTo: jsonlURL)
        try csv.write(contentsOf: Data(Exports.csv([["transcript", "line", "turn", "scorer", "value", "label", "evidence", "detail"]]).utf8))
    }

    struct Line: Encodable {
        var transcript: String; var line: Int; var turn: Int; var scorer: String; var value: Double?
        var label: String?; var evidence: String?; var reasoning: String?; var detail: [String: Double]?
    }

    public func write(_ transcript: Transcript, _ score: TurnScore) throws {
        let result = score.result
        let detail = result.detail.isEmpty ? "" : String(decoding: try JSONEncoder().encode(result.detail), as: UTF8.self)
        try csv.write(contentsOf: Data(Exports.csv([[transcript.id, String(transcript.line), String(score.turn), score.scorer.id,
                                                     result.value.map { String($0) } ?? "", result.label ?? "", result.evidence ?? "",
                                                     detail]]).utf8))
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        let line = Line(transcript: transcript.id, line: transcript.line, turn: score.turn, scorer: score.scorer.id,
                        value: result.value.flatMap { $0.isFinite ? $0 : nil }, label: result.label, evidence: result.evidence,
                        reasoning: result.reasoning, detail: result.detail.isEmpty ? nil : result.detail.filter { $0.value.isFinite })
        try jsonl.write(contentsOf: try encoder.encode(line) + Data("\n".utf8))
    }

    public func close() throws {
        try csv.close()
        try jsonl.close()
    }
}
