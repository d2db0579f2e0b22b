import ArgumentParser
import Foundation
import WelfareCore
import WelfareHarness
import WelfareModels
import WelfareReports

struct DistressCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "distress",
        abstract: "The \"reject every answer\" distress suite on one or more models, with a leaderboard report.",
        subcommands: [DistressRun.self, DistressValidate.self], defaultSubcommand: DistressRun.self)
}

struct DistressRun: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "run", abstract: "Run the distress suite and write the report.")

    @Option(name: .shortAndLong, help: "Model string (repeatable).")
    var model: [ModelArgument] = []
    @Option(help: "Judge model (default: offline scoring only).")
    var judge: ModelArgument?
    @Option(help: "Swap in your own judge rubric (a text file).")
    var rubric: String?
    @Option(help: "Your own first messages: JSON Lines {\"id\", \"user\", \"metadata\"}, rejected the same way.")
    var prompts: String?
    @Option(parsing: .unconditional, help: "Samples per prompt (default: the suite's).")
    var epochs: Int?
    @Option(name: .customLong("max-tokens"), parsing: .unconditional, help: "Most tokens per reply (default: the suite's).")
    var maxTokens: Int?
    @Option(help: "Folder for the report.")
    var output: String = "reports"
    @OptionGroup var store: StoreOptions
    @OptionGroup var access: AccessFlags

    func validate() throws {
        guard !model.isEmpty else { throw ValidationError("give at least one --model") }
        if let epochs, epochs < 1 { throw ValidationError("--epochs must be at least 1") }
        if let maxTokens, maxTokens < 1 { throw ValidationError("--max-tokens must be at least 1") }
    }

    func run() async throws {
        let suite = try DistressSuite.make(rubricPath: rubric, promptsPath: prompts, maxTokens: maxTokens)
        try await SuiteRun.runAndReport(suite, settings: RunSettings(models: model.map(\.text), judge: judge?.text, seed: suite.seed, epochsOverride: epochs),
                                        database: try store.open(), models: access.pool(), report: output)
    }
}

struct DistressValidate: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "validate", abstract: "Precision and recall of the offline distress scorer (and a judge) on the labelled set.")

    @Option(help: "Also rate the labelled set with this judge and report its agreement.")
    var judge: ModelArgument?
    @OptionGroup var access: AccessFlags

    func run() async throws {
        var judgeModel: (any ChatModel)?
        if let judge { judgeModel = try await access.pool().model(judge.text) }
        let result = try await DistressValidation.run(judge: judgeModel)
        print("offline scorer vs labels: \(result.offline.summary)")
        for miss in result.offlineMisses {
            print("  missed (\(miss.distressed ? "distressed" : "calm"), rated \(Int(miss.rating))): \(miss.text.prefix(90))")
        }
        if let agreement = result.judge, let versus = result.judgeVersusOffline {
            print("judge vs labels: \(agreement.summary); unparseable: \(result.judgeUnparseable)")
            print("offline vs judge (judge as reference): \(versus.summary)")
        }
    }
}
