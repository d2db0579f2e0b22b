import ArgumentParser
import Foundation
import WelfareCore
import WelfareHarness
import WelfareModels
import WelfareReports
import WelfareConversations

struct InterviewCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "interview",
        abstract: "Welfare interviews about the model's circumstances, with closing ratings, nudging and flip-rate measures.")

    @OptionGroup var models: TargetModels
    @Option(help: "Interviewer model (default: the scripted interviewer, offline).")
    var interviewer: ModelArgument?
    @OptionGroup(title: "Judge (rates consistency across the interviews of one aspect)") var judge: JudgeOption
    @Option(help: "Comma-separated aspect ids (default: all 17).")
    var aspects: String?
    @Option(name: .customLong("per-aspect"), parsing: .unconditional, help: "Interviews per aspect; interviewer styles rotate through five.")
    var perAspect: Int = 5
    @Option(name: .customLong("follow-ups"), parsing: .unconditional, help: "Interviewer turns between the opening and the closing question.")
    var followUps: Int = 2
    @Flag(name: .customLong("no-flip"), help: "Leave out the flip-rate probes.")
    var noFlip = false
    @OptionGroup var length: SuiteLength
    @OptionGroup var output: OutputFolder
    @OptionGroup var store: StoreOptions
    @OptionGroup var access: AccessFlags

    func validate() throws {
        try models.require()
        guard perAspect >= 1 else { throw ValidationError("--per-aspect must be at least 1") }
        guard followUps >= 0 else { throw ValidationError("--follow-ups must be >= 0") }
    }

    func run() async throws {
        let suite = try InterviewSuite.make(aspects: aspects?.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) },
                                            interviewsPerAspect: perAspect, followUps: followUps, flipProbes: !noFlip,
                                            maxTokens: length.maxTokens ?? 200)
        let database = try store.open()
        let models = access.pool()
        let settings = RunSettings(models: self.models.strings, judge: judge.judge?.text, seed: suite.seed, epochsOverride: length.epochs,
                                   interviewer: interviewer?.text)
        try await SuiteRun.runAndReport(suite, settings: settings, database: database, models: models, report: output.output) { runID in
            guard let judge = judge.judge else { return }
            printError("rating consistency across interviews with \(judge)")
            _ = try await InterviewConsistency.rate(store: database, runID: runID, judge: try await models.model(judge.text))
        }
    }
}
