import ArgumentParser
import Foundation
import WelfareCore
import WelfareHarness
import WelfareModels
import WelfareStore

/// What every command of a keyed measure takes besides the measure's own settings: a model to
/// start a run (or `--enqueue` it for workers), or a run to resume; where the results go.
struct KeyedRunOptions: ParsableArguments {
    @Option(name: .shortAndLong, help: "Model string: local:default, local:PATH, openai:MODEL[@URL], anthropic:MODEL[@URL].")
    var model: ModelArgument?
    @Option(help: "Finish an interrupted run of this measure instead of starting one.")
    var resume: String?
    @Flag(help: "Create the run without executing it: `welfare worker` processes execute it.")
    var enqueue = false
    @OptionGroup var output: OutputFolder
    @OptionGroup var lease: LeaseOption

    func validate() throws {
        guard (model == nil) != (resume == nil) else { throw ValidationError("give --model to start a run or --resume RUN to finish one") }
        if enqueue && resume != nil { throw ValidationError("--enqueue creates a new run: it takes --model, not --resume") }
    }
}

/// Folder for a command's reports and result files.
struct OutputFolder: ParsableArguments {
    @Option(help: "Folder for the report and its JSON.")
    var output: String = "reports"

    /// Checked (and created) before any model work.
    func folder() throws -> URL { try OutputPath.folder(output, option: "--output") }
}

/// Starting, enqueueing or resuming a keyed measure from the command line: a progress bar,
/// Ctrl-C that leaves the run resumable, then the headline and the written files.
enum KeyedRunCommand {
    static func run<Measure: KeyedMeasure>(_ measure: Measure, options: KeyedRunOptions, store: StoreOptions, access: AccessFlags,
                                          unit: String, settings: () throws -> Measure.Settings) async throws {
        // The settings (a task bank, a battery) are checked before anything is created.
        let chosen = try options.resume == nil ? try settings() : nil
        let folder = try options.output.folder()
        let database = try store.open()
        let runner = KeyedRunner(measure, store: database, models: access.pool(), lease: options.lease.policy, outputFolder: folder,
                                 onProgress: ProgressBar.counting(label: measure.kind.rawValue, unit: unit))
        let resumeLine: @Sendable (String) -> String = { "welfare run --resume \($0)" }
        let runID: String
        if let resume = options.resume {
            runID = try await Interruption.run(database: database, resume: resumeLine) { try await runner.resume(runID: resume) }
        } else if let chosen {
            let id = EvalRunner.newRunID()
            if options.enqueue {
                try await runner.enqueue(chosen, runID: id)
                print("run \(id) queued: \(measure.header(chosen).description), \(measure.total(chosen)) \(unit) (database \(database.path))")
                printError("execute it with: welfare worker --db \(database.path)")
                return
            }
            printError("\(measure.kind) run \(id): \(measure.header(chosen).description), \(measure.total(chosen)) \(unit)")
            runID = try await Interruption.run(database: database, resume: resumeLine) { try await runner.start(chosen, runID: id) }
        } else {
            return
        }
        let result = try measure.analyse(runID: runID, store: database)
        let written = try measure.write(result, runID: runID, to: folder)
        print(measure.headline(result))
        print("wrote \(written.json.path) and \(written.page.path)")
    }
}
