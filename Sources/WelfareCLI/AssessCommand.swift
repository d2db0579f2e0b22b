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
    @OptionGroup var judge: JudgeOption
    @Option(help: "quick: short settings, minutes on the default model; standard: enough conversations for intervals; full: the published designs' sizes (hours).")
    var depth: AssessmentDepth = .quick
    @OptionGroup(title: "Length (unless given: the depth's samples per prompt and tokens per reply)")
    var length: SuiteLength
    @OptionGroup var output: OutputFolder
    @OptionGroup var store: StoreOptions
    @OptionGroup var access: AccessFlags

    func run() async throws {
        let database = try store.open()
        let folder = try output.folder()
        let models = access.pool()
        let context = AssessmentContext(
            settings: .init(model: model.text, judge: judge.judge?.text, depth: depth, epochs: length.epochs, maxTokens: length.maxTokens),
            store: database, models: models, folder: folder,
            runSuite: { suite, settings in
                try await SuiteRun.runner(database, models: models, label: suite.name).start(suite: suite, settings: settings)
            },
            log: { printError($0) })
        // Ctrl-C or SIGTERM stops the whole assessment at the next turn or answer: the measure
        // in progress is stored as interrupted, with the command that resumes it.
        let outcome = try await Interruption.run(database: database) { try await Assessment.standard.run(context) }
        for result in outcome.results {
            if let file = result.row?.reportFile { print("\(result.measure) report: \(folder.appendingPathComponent(file).path)") }
        }
        print("report: \(outcome.frontPage.path)")
    }
}

extension AssessmentDepth: ExpressibleByArgument {}
