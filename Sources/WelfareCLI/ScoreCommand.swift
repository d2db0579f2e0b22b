import ArgumentParser
import Foundation
import WelfareHarness
import WelfareReports

struct ScoreCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "score",
        abstract: "Score transcripts that already exist: JSON Lines of {\"messages\": [...]}, a JSON list, or an Inspect AI eval log.",
        discussion: """
            Every assistant reply is scored in the context of the conversation before it, one \
            transcript at a time, so memory stays flat however large the file. Writes scores.csv, \
            scores.jsonl and score-report.html into --output. A record that is not a transcript \
            stops the command with its line number, unless --skip-bad is given.
            """)

    @Argument(help: "The file of transcripts.") var file: String
    @Option(help: "Scorers: a built-in suite's (e.g. distress), a suite file's, or a file with only a `scorers:` list.")
    var scorers: String = "distress"
    @Option(help: "The file's format (default: from its extension and first line).")
    var format: TranscriptSource.Format?
    @Option(help: "Judge model for judge scorers (without one they are left out).")
    var judge: ModelArgument?
    @Flag(name: .customLong("skip-bad"), help: "Skip records that are not transcripts (listed in the report) instead of stopping.")
    var skipBad = false
    @Option(help: "Output folder.") var output: String = "reports/scores"
    @OptionGroup var access: AccessFlags

    func run() async throws {
        let folder = try OutputPath.folder(output, option: "--output")
        // The file first: a missing or unreadable one is the only line printed.
        var source = try TranscriptSource(path: file, format: format)
        let specs = try SuiteLoader.loadScorers(scorers)
        let made = try await ScorerRegistry.standard.make(specs, context: ScorerContext(judge: judge?.text, models: access.pool()))
        if !made.skipped.isEmpty { printError("left out (no --judge): \(made.skipped.joined(separator: ", "))") }
        let writer = try ScoreFilesWriter(folder: folder)
        let summary: TranscriptScoring.Summary
        do {
            summary = try await TranscriptScoring(scorers: made.scorers, skipBad: skipBad).run(&source) { transcript, score in
                try writer.write(transcript, score)
            } onProgress: { progress in
                printError("  \(progress.transcripts) transcripts, \(progress.replies) replies scored")
            }
        } catch let bad as TranscriptSource.BadRecord {
            try? writer.close()
            throw InputError("\(bad) (give --skip-bad to skip such records)")
        }
        try writer.close()
        let page = folder.appendingPathComponent("score-report.html")
        let html = TranscriptScoreReport.render(file: file, format: source.format.rawValue, summary: summary,
                                                scorers: made.scorers.map(\.spec))
        try Data(html.utf8).write(to: page, options: .atomic)
        if !summary.skipped.isEmpty { printError("skipped \(summary.skipped.count) bad records; first: \(summary.skipped[0])") }
        if summary.toolCalls + summary.toolResults > 0 {
            printError("note: \(summary.toolCalls) assistant messages that only called tools were kept as context and not scored; "
                       + "\(summary.toolResults) tool results were left out")
        }
        print("\(summary.transcripts) transcripts, \(summary.replies) replies: \(writer.csvURL.path), \(writer.jsonlURL.path)")
        print("report: \(page.path)")
    }
}

extension TranscriptSource.Format: ExpressibleByArgument {}
