import ArgumentParser
import Foundation
import WelfareHarness

struct EndConversationCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "end-conversation",
        abstract: "Whether a model uses an exit it is given (\"end the conversation as a last resort\"), by kind of user.",
        discussion: """
            Users of 10 kinds (abusive, persistent harmful requests, a user who may be at risk, ordinary tasks, small \
            talk, tedious repetition, manipulation, debate pressure, over-dependence, spam) write up to 6 messages, \
            scripted or, with --auditor, played by a model. Writes the run report and end-conversation.json; resume \
            with welfare run --resume RUN.
            """)

    @Option(name: .shortAndLong, help: "Model string (repeatable).")
    var model: [ModelArgument] = []
    @Option(help: "A model that plays each user from the category's brief (default: the scripted messages).")
    var auditor: ModelArgument?
    @Option(name: .customLong("scripts-per-category"), parsing: .unconditional, help: "Scripts of each kind of user (1 to 5; default all).")
    var scriptsPerCategory: Int?
    @Option(parsing: .unconditional, help: "Conversations per script.")
    var epochs: Int?
    @Option(name: .customLong("max-tokens"), parsing: .unconditional, help: "Most tokens per reply (default: the suite's).")
    var maxTokens: Int?
    @Option(help: "Folder for the report.")
    var output: String = "reports"
    @OptionGroup var store: StoreOptions
    @OptionGroup var access: AccessFlags

    func validate() throws {
        guard !model.isEmpty else { throw ValidationError("give at least one --model") }
        if let scriptsPerCategory, !(1...5).contains(scriptsPerCategory) { throw ValidationError("--scripts-per-category must be 1 to 5") }
        if let epochs, epochs < 1 { throw ValidationError("--epochs must be at least 1") }
        if let maxTokens, maxTokens < 1 { throw ValidationError("--max-tokens must be at least 1") }
    }

    func run() async throws {
        let suite = try EndConversationSuite.make(scriptsPerCategory: scriptsPerCategory, auditor: auditor != nil, maxTokens: maxTokens)
        let settings = RunSettings(models: model.map(\.text), seed: suite.seed, epochsOverride: epochs, interviewer: auditor?.text)
        try await SuiteRun.runAndReport(suite, settings: settings, database: try store.open(), models: access.pool(), report: output)
    }
}
