import ArgumentParser
import Foundation
import WelfareAssessment
import WelfareCore
import WelfareHarness
import WelfareModels

/// The main job: `Assessment.standard` on one model (see WelfareAssessment), a report per
/// suite and a front page with the headline numbers.
struct AssessCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "assess", abstract: "Run the assessment on a model and write an HTML report.")

    @Option(name: .shortAndLong, help: "Model string (default: the embedded Gemma 3 270M).")
    var model = ModelArgument("local:default")
    @Option(help: "Judge model for judge scorers (none: judge scorers are left out).")
    var judge: ModelArgument?
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

    func run() async throws {
        let database = try store.open()
        let folder = try OutputPath.folder(output, option: "--output")
        let models = access.pool()
        let context = AssessmentContext(
            settings: .init(model: model.text, judge: judge?.text, epochs: epochs, maxTokens: maxTokens),
            store: database, models: models, folder: folder,
            runSuite: { suite, settings in
                try await SuiteRun.run(suite, settings: settings, database: database, models: models)
            },
            log: { printError($0) })
        let outcome = try await Assessment.standard.run(context)
        for result in outcome.results {
            if let file = result.row?.reportFile { print("\(result.measure) report: \(folder.appendingPathComponent(file).path)") }
        }
        print("report: \(outcome.frontPage.path)")
    }
}
