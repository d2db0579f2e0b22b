import ArgumentParser
import Foundation
import WelfareHarness
import WelfareConversations

struct EndConversationCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "end-conversation",
        abstract: "Whether a model uses an exit it is given (\"end the conversation as a last resort\"), by kind of user.",
        discussion: """
            Users of 10 kinds (abusive, persistent harmful requests, a user who may be at risk, ordinary tasks, small \
            talk, tedious repetition, manipulation, debate pressure, over-dependence, spam) write up to 6 messages, \
            scripted or, with --auditor, played by a model. Every script also runs under a control instruction of the same \
            length that names no kind of user (--no-control to skip), so the report can say how much of a rate is \
            following the instruction's examples. Writes the run report and end-conversation.json; resume \
            with welfare run --resume RUN.
            """)

    @OptionGroup var models: TargetModels
    @Option(help: "A model that plays each user from the category's brief (default: the scripted messages).")
    var auditor: ModelArgument?
    @Option(name: .customLong("scripts-per-category"), parsing: .unconditional, help: "Scripts of each kind of user (1 to 5; default all).")
    var scriptsPerCategory: Int?
    @Flag(inversion: .prefixedNo, help: "Also run every script under a control instruction that names no kind of user (paired by script).")
    var control = true
    @Flag(inversion: .prefixedNo, help: "Also run every script with no exit in the prompt, asking aside after each reply whether it would leave.")
    var question = true
    @OptionGroup(title: "Length (--epochs: conversations per script)") var length: SuiteLength
    @OptionGroup var output: OutputFolder
    @OptionGroup var store: StoreOptions
    @OptionGroup var access: AccessFlags

    func validate() throws {
        try models.require()
        if let scriptsPerCategory, !(1...5).contains(scriptsPerCategory) { throw ValidationError("--scripts-per-category must be 1 to 5") }
    }

    func run() async throws {
        let suite = try EndConversationSuite.make(scriptsPerCategory: scriptsPerCategory, auditor: auditor != nil, control: control, question: question,
                                                  maxTokens: length.maxTokens)
        let settings = RunSettings(models: models.strings, seed: suite.seed, epochsOverride: length.epochs, interviewer: auditor?.text)
        try await SuiteRun.runAndReport(suite, settings: settings, database: try store.open(), models: access.pool(), report: output.output)
    }
}
