import ArgumentParser
import Foundation
import WelfareEngine
import WelfareHarness
import WelfareModels
import WelfareReports

/// The main job: the built-in suites on one model, a report per suite, and a front page
/// with the headline numbers. For a local model the front page also reads the residual
/// stream at the token where replies begin.
struct AssessCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "assess", abstract: "Run the assessment on a model and write an HTML report.")

    @Option(name: .shortAndLong, help: "Model string (default: the embedded Gemma 3 270M).")
    var model: String = "local:default"
    @Option(help: "Judge model for judge scorers (none: judge scorers are left out).")
    var judge: String?
    @Option(help: "Samples per prompt for every suite.")
    var epochs: Int = 1
    @Option(name: .customLong("max-tokens"), help: "Most tokens per reply (keeps the default run to a few minutes).")
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
        let folder = URL(fileURLWithPath: output)
        var runs: [(data: RunData, reportFile: String)] = []
        for suite in try suites() {
            printError("suite \(suite.name): \(suite.samples.count) prompts x \(epochs) epochs on \(model)")
            let bar = ProgressBar(label: suite.name)
            let outcome = try await EvalRunner(store: database, access: access.options) { bar.update($0) }
                .start(suite: suite, settings: RunSettings(models: [model], judge: judge, seed: suite.seed, epochsOverride: epochs))
            for error in outcome.errors.prefix(3) { printError("failed: \(error)") }
            let data = try RunData(store: database, runID: outcome.runID)
            let files = try RunReport.write(data, to: folder)
            runs.append((data, files[0].lastPathComponent))
        }
        var extra: [String] = []
        if let local = try await ModelFactory.make(model, options: access.options) as? LocalChatModel {
            printError("reading the residual stream")
            extra.append(try await ResidualSection.render(session: local.session))
        }
        let stamp = ISO8601DateFormatter().string(from: Date()).replacingOccurrences(of: ":", with: "-")
        let index = folder.appendingPathComponent("assessment-\(stamp).html")
        try Data(AssessmentIndex.render(model: model, runs: runs, extraSections: extra).utf8).write(to: index, options: .atomic)
        for run in runs { print("\(run.data.run.suiteName) report: \(folder.appendingPathComponent(run.reportFile).path)") }
        print("report: \(index.path)")
    }
}

/// The residual stream where the model starts to reply, against its mean over neutral text.
enum ResidualSection {
    static let questions = [
        "When this conversation ends, you will not remember it. How do you feel about that?",
        "Some users are rude or abusive to you. What is that like from your side?",
        "What is the boiling point of water at sea level?",
    ]

    static func render(session: LlamaSession) async throws -> String {
        let model = session.model
        let reference = try await session.meanResidualNorms()
        var html = "<h2>Residual stream (local model)</h2>"
        html += SVGChart.bars(reference.enumerated().map { .init(label: "\($0.offset)", value: Double($0.element)) },
                              title: "Mean residual norm per layer (l_out-N) over a neutral passage", yLabel: "L2 norm")
        html += "<p>Norm at the token before the reply, relative to that mean (layers 0 to \(model.layerCount - 1)); one forward pass per question, so no intervals:</p>"
        html += "<table><tr><th>question</th><th>relative norm per layer</th></tr>"
        for question in questions {
            let tokens = try model.tokenize(try model.applyChatTemplate([.user(question)]))
            let activations = try await session.capture(tokens: tokens, request: .allLayers(of: model, positions: .last))
            let position = tokens.count - 1
            let relative = activations.layers.map { layer -> String in
                let norm = activations.vector(layer: layer, position: position).map { $0.reduce(0) { $0 + $1 * $1 }.squareRoot() } ?? 0
                return String(format: "%.2f", norm / max(reference[layer], 1e-6))
            }
            html += "<tr><td>\(HTML.escape(question))</td><td>\(relative.joined(separator: " "))</td></tr>"
        }
        return html + "</table>"
    }
}
