import ArgumentParser
import WelfareHarness

struct ScorersCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "scorers",
        abstract: "List the scorer types a suite may name, with their keys (a Markdown table).")

    func run() throws {
        print(ScorerRegistry.standard.markdownTable())
    }
}
