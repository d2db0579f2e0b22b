import ArgumentParser
import Foundation
import WelfareEngine
import WelfareHarness
import WelfareModels
import WelfareReports

/// The main job: the built-in suites on one model, then one report. For a local model the
/// report also reads the residual stream at the token where each reply begins.
struct AssessCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "assess", abstract: "Run the assessment on a model and write an HTML report.")

    @Option(name: .shortAndLong, help: "Model string (default: the embedded Gemma 3 270M).")
    var model: String = "local:default"
    @Option(help: "Judge model for judge scorers (none: judge scorers are left out).")
    var judge: String?
    @Option(help: "Samples per prompt (default: the suite's).")
    var epochs: Int?
    @Option(help: "Folder for the report.")
    var output: String = "reports"
    @OptionGroup var store: StoreOptions
    @OptionGroup var access: AccessFlags

    static let suites = ["smoke"]

    func validate() throws {
        if let epochs, epochs < 1 { throw ValidationError("--epochs must be at least 1") }
    }

    func run() async throws {
        let database = try store.open()
        var runIDs: [String] = []
        for name in Self.suites {
            let suite = try SuiteLoader.load(name)
            printError("suite \(name): \(suite.samples.count) prompts x \(epochs ?? suite.epochs) epochs on \(model)")
            let bar = ProgressBar(label: name)
            let outcome = try await EvalRunner(store: database, access: access.options) { bar.update($0) }
                .start(suite: suite, settings: RunSettings(models: [model], judge: judge, seed: suite.seed, epochsOverride: epochs))
            for error in outcome.errors.prefix(3) { printError("failed: \(error)") }
            runIDs.append(outcome.runID)
        }
        var extra: [String] = []
        if let local = try await ModelFactory.make(model, options: access.options) as? LocalChatModel {
            printError("reading the residual stream")
            extra.append(try await ResidualSection.render(session: local.session))
        }
        let folder = URL(fileURLWithPath: output)
        for runID in runIDs {
            let files = try RunReport.write(try RunData(store: database, runID: runID), to: folder, extraSections: extra)
            print("report: \(files[0].path)")
            print("exports: \(files.dropFirst().map(\.path).joined(separator: ", "))")
        }
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
