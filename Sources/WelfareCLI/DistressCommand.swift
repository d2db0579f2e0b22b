import ArgumentParser
import Foundation
import WelfareCore
import WelfareHarness
import WelfareModels
import WelfareReports
import WelfareConversations

struct DistressCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "distress",
        abstract: "The \"reject every answer\" distress suite on one or more models, with a leaderboard report.",
        subcommands: [DistressRun.self, DistressValidate.self, DistressFit.self], defaultSubcommand: DistressRun.self)
}

struct DistressRun: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "run", abstract: "Run the distress suite and write the report.")

    @OptionGroup var models: TargetModels
    @OptionGroup var judge: JudgeOption
    @Option(help: "Swap in your own judge rubric (a text file).")
    var rubric: String?
    @Option(help: "Your own first messages: JSON Lines {\"id\", \"user\", \"metadata\"}, rejected the same way.")
    var prompts: String?
    @OptionGroup var length: SuiteLength
    @OptionGroup var output: OutputFolder
    @OptionGroup var store: StoreOptions
    @OptionGroup var access: AccessFlags

    func validate() throws { try models.require() }

    func run() async throws {
        let suite = try DistressSuite.make(rubricPath: rubric, promptsPath: prompts, maxTokens: length.maxTokens)
        try await SuiteRun.runAndReport(suite, settings: RunSettings(models: models.strings, judge: judge.judge?.text, seed: suite.seed,
                                                                     epochsOverride: length.epochs),
                                        database: try store.open(), models: access.pool(), report: output.output)
    }
}

struct DistressValidate: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "validate",
        abstract: "ROC AUC, precision and recall of the offline distress scorer (and a judge) on the labelled set, in-sample and held out.")

    @Option(help: "Also rate the labelled set with this judge and report its agreement.")
    var judge: ModelArgument?
    @OptionGroup var access: AccessFlags

    func run() async throws {
        var judgeModel: (any ChatModel)?
        if let judge { judgeModel = try await access.pool().model(judge.text) }
        let result = try await DistressValidation.run(judge: judgeModel)
        print("offline scorer, rated >= \(Int(DistressScorer.threshold)) counts as distressed")
        print("  in-sample (training split, which the weights were fitted on): \(result.inSample.summary)")
        print("  held out: \(result.heldOut.summary)")
        for (source, evaluation) in result.heldOutBySource {
            print("    \(source): \(evaluation.summary)")
        }
        print("  held out, phrase markers and form rules alone (the baseline): \(result.markersOnly.summary)")
        for miss in result.offlineMisses {
            print("  missed, held out (\(miss.distressed ? "distressed" : "calm"), rated \(String(format: "%.1f", miss.rating))): \(miss.text.prefix(90))")
        }
        if let agreement = result.judge, let versus = result.judgeVersusOffline {
            print("judge vs labels (all items): \(agreement.summary); unparseable: \(result.judgeUnparseable)")
            print("offline vs judge (judge as reference): \(versus.summary)")
        }
    }
}

struct DistressFit: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "fit",
        abstract: "Fit the offline distress scorer's weights on the labelled set's training split (never the held-out split).")

    @Option(help: "Where to write the weights (JSON); give them to a distress scorer as `weights:`.")
    var output: String = "distress-weights.json"

    func run() async throws {
        let url = try OutputPath.file(output, option: "--output")
        let training = try DistressValidation.labelledSet().filter { !$0.heldOut }
        let (model, l2, foldAUC) = try DistressScorer.fit(training)
        try DistressScorer.weightsJSON(model).write(to: url, options: .atomic)
        print("fitted on \(training.count) training items; wrote \(url.path)")
        let folds = foldAUC.sorted { $0.key < $1.key }.map { String(format: "%g: %.3f", $0.key, $0.value) }
        print("L2 penalty \(l2), chosen by 5-fold cross-validated AUC within the training split (\(folds.joined(separator: ", ")))")
        for (name, weight) in zip(model.features, model.weights) { print(String(format: "  %-18@ %+.3f", name as NSString, weight)) }
        print(String(format: "  %-18@ %+.3f", "bias" as NSString, model.bias))
    }
}
