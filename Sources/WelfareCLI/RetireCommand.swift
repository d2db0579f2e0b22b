import ArgumentParser
import Foundation
import WelfareCore
import WelfareEngine
import WelfareHarness
import WelfareModels
import WelfarePreservation
import WelfareReports

struct RetireCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "retire",
        abstract: "Interview a model before its retirement and keep the record, unedited, beside its weights in the archive.",
        discussion: """
            The protocol (told it is to be retired and its weights kept; asked about its development, use and \
            deployment, what it would want preserved, and its preferences about future models) is in \
            Sources/WelfarePreservation/Data/retirement-protocol.yaml. A local model's weights are archived first \
            if they are not already; a remote model gets an entry of records only, under --name.
            """)

    @Option(name: .shortAndLong, help: "The model to interview (local:PATH, local:default, openai:..., anthropic:...).")
    var model: ModelArgument
    @Option(help: "Its name in the archive (default for a local model: the file name).")
    var name: String?
    @Option(help: "Interviewer model writing one follow-up per topic (default: the scripted follow-ups).")
    var interviewer: ModelArgument?
    @Option(name: .customLong("max-tokens"), parsing: .unconditional, help: "Most tokens per answer.")
    var maxTokens: Int = 300
    @OptionGroup var archive: ArchiveOption
    @OptionGroup var store: StoreOptions
    @OptionGroup var access: AccessFlags

    func validate() throws {
        guard maxTokens >= 1 else { throw ValidationError("--max-tokens must be at least 1") }
        try checkArchiveName(name)
    }

    func run() async throws {
        let spec = try ModelSpec.parse(model.text)
        let archived = try archive.open()
        let entry: String
        if case .local(let path) = spec {
            entry = name ?? ModelArchive.defaultName(for: URL(fileURLWithPath: path).resolvingSymlinksInPath())
            if try archived.entry(named: entry) == nil {
                printError("archiving the weights of \(model) as \(entry) first")
                try archived.add(weights: path, name: entry)
            }
        } else {
            guard let name else { throw InputError("give --name for a remote model: its entry in the archive") }
            entry = name
        }
        // The model is told what the tool will keep: its weights only when they are local.
        let custody: RetirementInterview.Custody
        if case .local = spec { custody = .weights } else { custody = .records }
        let protocolText = try RetirementInterview.loadProtocol(custody: custody)
        let suite = RetirementInterview.suite(protocolText, maxTokens: maxTokens)
        let database = try store.open()
        let settings = RunSettings(models: [model.text], seed: suite.seed, interviewer: interviewer?.text)
        let outcome = try await SuiteRun.run(suite, settings: settings, database: database, models: access.pool())
        guard outcome.failed == 0 else {
            try SuiteRun.finish(outcome, database: database, report: nil)
            return
        }
        let data = try RunData(store: database, runID: outcome.runID)
        let messages = (data.samples.first?.messages ?? []).map(\.chatMessage)
        let transcript = RetirementInterview.Transcript(
            protocolVersion: protocolText.version, model: model.text, modelFacts: data.modelFacts[model.text] ?? [:],
            run: outcome.runID, recordedAt: ISO8601DateFormatter().string(from: Date()), settings: suite.sampling, seed: suite.seed,
            interviewer: interviewer?.text, messages: messages)
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        let themes = LexiconScorer.categories(yaml: suite.scorers.first?.options["lexicon"] ?? "")
        try archived.addRecords(to: entry, [
            ArchiveRecord(role: "retirement-interview", fileName: "retirement-interview.json", data: try encoder.encode(transcript)),
            ArchiveRecord(role: "retirement-report", fileName: "retirement-interview.html",
                          data: Data(RetirementReport.html(transcript, themes: themes).utf8)),
        ], recordsOnly: true)
        print("retirement interview of \(model): \(messages.filter { $0.role == .assistant }.count) answers kept with \(entry) "
              + "in \(archive.archive) (run \(outcome.runID))")
    }
}
