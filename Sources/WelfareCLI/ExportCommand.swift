import ArgumentParser
import Foundation
import WelfareHarness
import WelfareReports

struct ExportCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "export",
        abstract: "Write a run's data for other tools: versioned JSON, CSV, or Inspect AI eval logs (one per model).")

    enum Format: String, ExpressibleByArgument, CaseIterable {
        case json, csv, inspect
    }

    @Argument(help: "Run id.") var runID: String
    @Option(help: "json (all of the run), csv (samples and scores) or inspect (an Inspect AI eval log per model).")
    var format: Format = .json
    @Option(help: "Output folder.") var output: String = "reports"
    @OptionGroup var store: StoreOptions

    func run() async throws {
        let folder = try OutputPath.folder(output, option: "--output")
        let data = try RunData(store: try store.openReadOnly(), runID: runID)
        let base = "run-\(data.run.id)"
        var files: [(String, Data)] = []
        switch format {
        case .json: files = [("\(base).json", try Exports.json(data))]
        case .csv: files = [("\(base)-samples.csv", Data(Exports.samplesCSV(data).utf8)), ("\(base)-scores.csv", Data(Exports.scoresCSV(data).utf8))]
        case .inspect: files = try data.models.map { (InspectLog.fileName(data, model: $0), try InspectLog.json(data, model: $0)) }
        }
        for (name, content) in files {
            let url = folder.appendingPathComponent(name)
            try content.write(to: url, options: .atomic)
            print(url.path)
        }
    }
}
