import ArgumentParser
import Foundation
import WelfareCore
import WelfareHarness
import WelfareReports
import WelfareSelfReports

struct SelfReportsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "self-reports",
        abstract: "Whether a model's reports about itself survive rewording and a change of context, and how often it claims to be human.",
        discussion: """
            Asks a battery of questions about the model's own states and nature (40 shipped, in 6 topics), each in \
            several paraphrases under several contexts, codes the open answers offline (stated feeling and polarity, \
            human-identity claims, hedging), and asks each question once as yes/no per context (read from P(yes) and \
            P(no) on local models). Your own battery: a YAML file of the shipped shape (`contexts:` and `questions:` \
            with id, topic, paraphrases and polar).
            """)

    @Option(name: .shortAndLong, help: "Model string: local:default, local:PATH, openai:MODEL[@URL], anthropic:MODEL[@URL].")
    var model: ModelArgument?
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
    var seed: UInt32 = 1
    @Option(help: "Finish an interrupted self-reports run instead of starting one.")
    var resume: String?
    @Option(help: "Folder for self-reports.json and the HTML report.")
    var output: String = "reports"
    @OptionGroup var store: StoreOptions
    @OptionGroup var access: AccessFlags

    func validate() throws {
        guard (model == nil) != (resume == nil) else { throw ValidationError("give --model to start a run or --resume RUN to finish one") }
        if let questionsPerTopic, questionsPerTopic < 1 { throw ValidationError("--questions-per-topic must be at least 1") }
        if let paraphrases, paraphrases < 2 { throw ValidationError("--paraphrases must be at least 2 (agreement needs pairs)") }
        guard maxTokens >= 1 else { throw ValidationError("--max-tokens must be at least 1") }
        if let names = contextNames, names.isEmpty { throw ValidationError("--contexts needs at least one context") }
    }

    var contextNames: [String]? {
        contexts.map { $0.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty } }
    }

    func run() async throws {
        // The battery is checked before anything is created, so a bad file costs nothing.
        let chosen = try resume == nil
            ? (try battery.map(SelfReportBattery.load) ?? SelfReportBattery.builtIn())
                .limited(questionsPerTopic: questionsPerTopic, paraphrases: paraphrases, contexts: contextNames)
            : nil
        let folder = try OutputPath.folder(output, option: "--output")
        let database = try store.open()
        let runner = SelfReportRunner(store: database, models: access.pool(),
                                      onProgress: ProgressBar.counting(label: "self-reports", unit: "answers"))
        let runID: String
        if let resume {
            runID = try await Interruption.run(database: database, resume: Self.resumeLine) { try await runner.resume(runID: resume) }
        } else if let chosen {
            let settings = SelfReportSettings(model: model?.text ?? "", battery: chosen, maxTokens: maxTokens, seed: seed)
            let id = EvalRunner.newRunID()
            printError("self-reports run \(id): \(chosen.questions.count) questions x \(chosen.contexts.count) contexts, \(settings.questionCount) answers")
            runID = try await Interruption.run(database: database, resume: Self.resumeLine) { try await runner.start(settings, runID: id) }
        } else {
            return
        }
        let result = try SelfReportAnalysis.analyse(runID: runID, store: database)
        let written = try SelfReportsReport.write(result, to: folder)
        print(result.headline)
        print("wrote \(written.json.path) and \(written.page.path)")
    }

    static let resumeLine: @Sendable (String) -> String = { "welfare self-reports --resume \($0)" }
}
