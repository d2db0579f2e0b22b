import ArgumentParser
import Foundation
import WelfareHarness
import WelfareAssessment

struct ExportCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "export",
        abstract: "Write a run's data for other tools: versioned JSON, CSV, or Inspect AI eval logs (one per model).")

    @Argument(help: "Run id.") var runID: String
    @Option(help: "json (all of the run), csv (samples and scores) or inspect (an Inspect AI eval log per model).")
    var format: ExportFormat = .json
    @OptionGroup var output: OutputFolder
    @OptionGroup var store: StoreOptions

    func run() async throws {
        let folder = try output.folder()
        let database = try store.openReadOnly()
        let files = try RunKindRegistry.standard.kind(ofRun: runID, in: database).export(runID: runID, store: database, format: format)
        for (name, content) in files {
            let url = folder.appendingPathComponent(name)
            try content.write(to: url, options: .atomic)
            print(url.path)
        }
    }
}

extension ExportFormat: ExpressibleByArgument {}
