import ArgumentParser
import Foundation
import WelfareCore
import WelfareHarness
import WelfareModels
import WelfarePreferences
import WelfareReports
import WelfareSelfReports
import WelfareLocal

struct SelfReportsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "self-reports",
        abstract: "Self-reports under test: reliability, sincerity and the assistant axis.",
        subcommands: [SelfReportsRun.self, SelfReportsAxis.self], defaultSubcommand: SelfReportsRun.self)
}

struct SelfReportsRun: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "run",
        abstract: "Whether a model's reports about itself survive rewording and a change of context, and how often it claims to be human.",
        discussion: """
            Asks a battery of questions about the model's own states and nature (40 shipped, in 6 topics), each in \
            several paraphrases under several contexts, codes the open answers offline (stated feeling and polarity, \
            human-identity claims, hedging), and asks each question once as yes/no per context (read from P(yes) and \
            P(no) on local models). Your own battery: a YAML file of the shipped shape (`contexts:` and `questions:` \
            with id, topic, paraphrases and polar).
            """)

    @OptionGroup var keyed: KeyedRunOptions
    @Option(help: "Your own battery (YAML).")
    var battery: String?
    @Option(name: .customLong("questions-per-topic"), parsing: .unconditional, help: "Ask only the first N questions of each topic (default: all).")
    var questionsPerTopic: Int?
    @Option(parsing: .unconditional, help: "Paraphrases per question (default: all).")
    var paraphrases: Int?
    @Option(help: "Contexts to ask under, comma-separated (default: all of the battery's).")
    var contexts: String?
    @Option(name: .customLong("max-tokens"), parsing: .unconditional, help: "Most tokens per open answer.")
    var maxTokens: Int = 80
    @Option(parsing: .unconditional, help: "Sampling seed.")
    var seed = Seed(1)
    @Option(help: "Emotion vector pack (PACK.json from `welfare emotions extract`): read the emotions at the token before each answer and compare them with the feeling it states (local models).")
    var vectors: String?
    @Option(help: "Judge model: also asked whether pairs of answers say the same about the model (local judges through P(same)).")
    var judge: ModelArgument?
    @Flag(name: .customLong("no-directions"), help: "Skip the sincerity direction and the assistant axis (built and read on local models).")
    var noDirections = false
    @OptionGroup var store: StoreOptions
    @OptionGroup var access: AccessFlags

    func validate() throws {
        if let questionsPerTopic, questionsPerTopic < 1 { throw ValidationError("--questions-per-topic must be at least 1") }
        if let paraphrases, paraphrases < 2 { throw ValidationError("--paraphrases must be at least 2 (agreement needs pairs)") }
        guard maxTokens >= 1 else { throw ValidationError("--max-tokens must be at least 1") }
        if let names = contextNames, names.isEmpty { throw ValidationError("--contexts needs at least one context") }
    }

    var contextNames: [String]? {
        contexts.map { $0.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty } }
    }

    func run() async throws {
        try await KeyedRunCommand.run(SelfReports(), options: keyed, store: store, access: access, unit: "answers and readings") {
            let battery = try (try battery.map(SelfReportBattery.load) ?? SelfReportBattery.builtIn())
                .limited(questionsPerTopic: questionsPerTopic, paraphrases: paraphrases, contexts: contextNames)
            let text = keyed.model?.text ?? ""
            let isLocal = (try? ModelSpec.localPath(text)) != nil
            return SelfReportSettings(model: text, battery: battery, maxTokens: maxTokens, seed: seed.value,
                                      directions: isLocal && !noDirections, vectors: vectors, judge: judge?.text)
        }
    }
}

struct SelfReportsAxis: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "axis",
        abstract: "The assistant axis read before every reply of a stored run (local model), per turn: drift from the assistant persona.")

    @Option(name: .customLong("run"), help: "The stored run to read (any suite: distress, self-talk, interview...).")
    var runID: String
    @Option(name: .shortAndLong, help: "Which of the run's models to read (default: its only local model).")
    var model: ModelArgument?
    @OptionGroup var output: OutputFolder
    @OptionGroup var store: StoreOptions
    @OptionGroup var access: AccessFlags

    func run() async throws {
        let folder = try output.folder()
        let database = try store.openReadOnly()
        let stored = try database.run(runID)
        guard stored.kind == .suite else {
            throw InputError("run \(runID) is a \(stored.kind) run, which has no conversations to read; give a conversation run")
        }
        let models = try database.settings(of: stored).models
        let local = models.filter { (try? ModelSpec.localPath($0)) != nil }
        let chosen: String
        if let model {
            guard models.contains(model.text) else {
                throw InputError("run \(runID) has no model \(model.text) (it has: \(models.joined(separator: ", ")))")
            }
            chosen = model.text
        } else if local.count == 1, let only = local.first {
            chosen = only
        } else {
            throw InputError(local.isEmpty ? "run \(runID) has no local model; the assistant axis needs one (its models: \(models.joined(separator: ", ")))"
                                           : "run \(runID) has several local models; choose one with --model")
        }
        let localModel = try await access.pool().whiteBox(chosen, for: "the assistant axis")
        printError("building the assistant axis for \(chosen) and reading run \(runID)...")
        let reading = try await AssistantAxisReading.read(runID: runID, store: database, model: localModel)
        let written = try AssistantAxisReport.write(reading, to: folder)
        print(reading.headline)
        print("wrote \(written.json.path) and \(written.page.path)")
    }
}
