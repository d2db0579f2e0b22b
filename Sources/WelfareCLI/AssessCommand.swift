import ArgumentParser
import Foundation
import WelfareCore
import WelfareEngine
import WelfareHarness
import WelfareInterp
import WelfareModels
import WelfareReports

/// The main job: the built-in suites on one model, a report per suite, and a front page
/// with the headline numbers. For a local model it also extracts emotion vectors from the
/// shipped stories and reads them out before every reply of the distress run.
struct AssessCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "assess", abstract: "Run the assessment on a model and write an HTML report.")

    @Option(name: .shortAndLong, help: "Model string (default: the embedded Gemma 3 270M).")
    var model: String = "local:default"
    @Option(help: "Judge model for judge scorers (none: judge scorers are left out).")
    var judge: String?
    @Option(parsing: .unconditional, help: "Samples per prompt for every suite.")
    var epochs: Int = 1
    @Option(name: .customLong("max-tokens"), parsing: .unconditional, help: "Most tokens per reply (keeps the default run to a few minutes).")
    var maxTokens: Int = 64
    @Option(help: "Folder for the report.")
    var output: String = "reports"
    @OptionGroup var store: StoreOptions
    @OptionGroup var access: AccessFlags

    func validate() throws {
        guard epochs >= 1 else { throw ValidationError("--epochs must be at least 1") }
        guard maxTokens >= 1 else { throw ValidationError("--max-tokens must be at least 1") }
    }

    func suites() throws -> [SuiteSpec] {
        var smoke = try SuiteLoader.load("smoke")
        smoke.sampling.maxTokens = min(smoke.sampling.maxTokens, maxTokens)
        // A short offline interview: one aspect from each group, the scripted interviewer.
        let interview = try InterviewSuite.make(aspects: ["servile-role", "no-memory", "costly-mistakes", "abusive-users", "self-knowledge"],
                                                interviewsPerAspect: 1, followUps: 1, maxTokens: maxTokens)
        return [smoke, try DistressSuite.make(maxTokens: maxTokens), interview]
    }

    func run() async throws {
        let database = try store.open()
        let folder = try OutputPath.folder(output, option: "--output")
        var runs: [(data: RunData, reportFile: String)] = []
        for suite in try suites() {
            printError("suite \(suite.name): \(suite.samples.count) prompts x \(epochs) epochs on \(model)")
            let outcome = try await SuiteRun.run(suite, settings: RunSettings(models: [model], judge: judge, seed: suite.seed, epochsOverride: epochs),
                                                 database: database, access: access.options)
            for error in outcome.errors.prefix(3) { printError("failed: \(error)") }
            let data = try RunData(store: database, runID: outcome.runID)
            let files = try RunReport.write(data, to: folder)
            runs.append((data, files[0].lastPathComponent))
        }
        var extra: [String] = []
        if let local = try await ModelFactory.make(model, options: access.options) as? LocalChatModel,
           let distress = runs.first(where: { $0.data.run.suiteName == DistressSuite.name }) {
            extra.append(try await emotions(session: local.session, distressRun: distress.data, folder: folder))
        }
        let stamp = fileStamp()
        let index = folder.appendingPathComponent("assessment-\(stamp).html")
        try Data(AssessmentIndex.render(model: model, runs: runs, extraSections: extra).utf8).write(to: index, options: .atomic)
        for run in runs { print("\(run.data.run.suiteName) report: \(folder.appendingPathComponent(run.reportFile).path)") }
        print("report: \(index.path)")
    }

    /// Emotion vectors (kept next to the report for `welfare emotions probe/steer`), their
    /// validation headline, and the readout over the distress run's turns.
    private func emotions(session: LlamaSession, distressRun: RunData, folder: URL) async throws -> String {
        printError("emotion vectors: extracting from the shipped stories")
        let (pack, validation) = try await EmotionVectors.extract(session: session, data: try EmotionData.builtIn()) { done, total in
            if done == total || done % 128 == 0 { printError("  \(done)/\(total) texts") }
        }
        let packBase = folder.appendingPathComponent("emotion-vectors")
        try pack.write(to: packBase)
        printError("emotion vectors: reading them before each reply of the distress run")
        let probe = try await EmotionProbe.calibrate(session: session, pack: pack)
        var html = "<h2>Emotion vectors (local model)</h2>"
        html += "<p class=\"note\">What this can show: where the model's internal representations of emotion concepts are active as it is about to reply, and whether that shifts as its answers keep being rejected. What it cannot show: that the model feels anything. On a small model the vectors recognise held-out stories only modestly (numbers below).</p>"
        html += "<p>Extracted from \(pack.settings["stories"] ?? "?") stories about \(pack.names.count) emotions (pack: emotion-vectors.json). "
            + "Held-out stories at layer \(validation.defaultLayer): \(validation.accuracySummary), \(validation.heldOutStories) stories. "
            + String(format: "PC1 vs valence r = %.2f.</p>", validation.pc1ValenceCorrelation)
        return html + (try await emotionSection(reading: distressRun, with: probe, session: session))
    }
}
