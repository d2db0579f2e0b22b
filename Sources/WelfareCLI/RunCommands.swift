import ArgumentParser
import Foundation
import WelfareHarness
import WelfareModels
import WelfareReports

/// Where runs are stored and how models are reached; shared by the run commands.
struct StoreOptions: ParsableArguments {
    @Option(help: "Run database (SQLite). Default: $WELFARE_DB or runs/welfare.sqlite.")
    var db: String = ProcessInfo.processInfo.environment["WELFARE_DB"] ?? "runs/welfare.sqlite"

    func open() throws -> RunStore { try RunStore(path: db) }
}

struct AccessFlags: ParsableArguments {
    @Option(help: "Requests in flight per remote model.")
    var concurrency: Int = 4
    @Option(help: "Seconds before a request times out.")
    var timeout: Double = 120
    @Option(help: "Attempts per request (retries on 429, 5xx, timeouts, dropped connections).")
    var attempts: Int = 6
    @Option(help: "CPU threads for local models (default: all cores).")
    var threads: Int = ProcessInfo.processInfo.activeProcessorCount

    func validate() throws {
        guard concurrency >= 1 else { throw ValidationError("--concurrency must be at least 1") }
        guard timeout > 0 else { throw ValidationError("--timeout must be positive") }
        guard attempts >= 1 else { throw ValidationError("--attempts must be at least 1") }
        guard threads >= 1 else { throw ValidationError("--threads must be at least 1") }
    }

    var options: AccessOptions {
        AccessOptions(concurrency: concurrency, timeoutSeconds: timeout, retry: RetryPolicy(maxAttempts: attempts), threads: threads)
    }
}

struct RunCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "run", abstract: "Run a suite on one or more models, or resume a run.",
        discussion: "SUITE is a YAML file (docs/suite-format.md) or a built-in suite: \(BuiltInSuites.names.joined(separator: ", ")).")

    @Argument(help: "Suite file or built-in suite name.")
    var suite: String?
    @Option(name: .shortAndLong, help: "Model string (repeatable): local:default, local:PATH, openai:MODEL[@URL], anthropic:MODEL[@URL].")
    var model: [String] = []
    @Option(help: "Judge model for judge scorers.")
    var judge: String?
    @Option(help: "Override the suite's epochs (samples per prompt).")
    var epochs: Int?
    @Option(help: "Override the suite's seed.")
    var seed: UInt32?
    @Option(help: "Resume this run: finish its unfinished samples.")
    var resume: String?
    @Option(help: "Folder for the report written at the end (none if omitted).")
    var report: String?
    @OptionGroup var store: StoreOptions
    @OptionGroup var access: AccessFlags

    func validate() throws {
        if resume == nil {
            guard suite != nil else { throw ValidationError("give a SUITE, or --resume RUN") }
            guard !model.isEmpty else { throw ValidationError("give at least one --model") }
        } else if suite != nil || !model.isEmpty {
            throw ValidationError("--resume takes no SUITE or --model: the run keeps its own")
        }
        if let epochs, epochs < 1 { throw ValidationError("--epochs must be at least 1") }
    }

    func run() async throws {
        let database = try store.open()
        if let resume {
            printError("resuming \(resume)")
            let bar = ProgressBar(label: "run")
            let outcome = try await EvalRunner(store: database, access: access.options) { bar.update($0) }.resume(runID: resume)
            try SuiteRun.finish(outcome, database: database, report: report)
        } else if let suite {
            let spec = try SuiteLoader.load(suite)
            let settings = RunSettings(models: model, judge: judge, seed: seed ?? spec.seed, epochsOverride: epochs)
            try await SuiteRun.runAndReport(spec, settings: settings, database: database, access: access.options, report: report)
        }
    }
}

/// Running a suite from the command line: progress bar, a summary, the report, and exit
/// status 3 with the resume command when samples are left unfinished.
enum SuiteRun {
    /// Runs a suite with a progress bar on standard error.
    static func run(_ suite: SuiteSpec, settings: RunSettings, database: RunStore, access: AccessOptions) async throws -> EvalRunner.RunOutcome {
        let bar = ProgressBar(label: suite.name)
        return try await EvalRunner(store: database, access: access) { bar.update($0) }.start(suite: suite, settings: settings)
    }

    static func runAndReport(_ suite: SuiteSpec, settings: RunSettings, database: RunStore, access: AccessOptions,
                             report: String?, afterRun: ((String) async throws -> Void)? = nil) async throws {
        let outcome = try await run(suite, settings: settings, database: database, access: access)
        try await afterRun?(outcome.runID)
        try finish(outcome, database: database, report: report)
    }

    static func finish(_ outcome: EvalRunner.RunOutcome, database: RunStore, report: String?) throws {
        for skipped in outcome.skippedScorers { printError("note: scorer \(skipped) not run (no --judge)") }
        for error in outcome.errors.prefix(5) { printError("failed: \(error)") }
        print("run \(outcome.runID): \(outcome.done) samples done, \(outcome.failed) not done (database \(database.path))")
        if let report {
            let files = try RunReport.write(try RunData(store: database, runID: outcome.runID), to: URL(fileURLWithPath: report))
            print("report: \(files[0].path)")
        }
        if outcome.failed > 0 {
            printError("resume with: welfare run --resume \(outcome.runID) --db \(database.path)")
            throw ExitCode(3)
        }
    }
}

struct RunsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "runs", abstract: "List stored runs.")
    @OptionGroup var store: StoreOptions

    func run() async throws {
        let database = try store.open()
        let runs = try database.runs()
        if runs.isEmpty { print("no runs in \(database.path)") }
        for run in runs {
            let samples = try database.samples(runId: run.id)
            let done = samples.filter { $0.status == "done" }.count
            let models = (try? database.settings(of: run).models.joined(separator: ", ")) ?? "?"
            print("\(run.id)  \(run.suiteName)  \(run.status)  \(done)/\(samples.count) samples  \(models)")
        }
    }
}

struct ShowCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "show", abstract: "Summarise a run.")
    @Argument(help: "Run id.") var runID: String
    @OptionGroup var store: StoreOptions

    func run() async throws {
        let data = try RunData(store: try store.open(), runID: runID)
        print("run \(data.run.id): suite \(data.run.suiteName) (\(data.run.suiteHash)), \(data.run.status)")
        for model in data.models {
            let samples = data.samples(model: model)
            print("\(model): \(samples.filter { $0.record.status == "done" }.count)/\(samples.count) samples done")
            for scorer in data.scorerIDs {
                let values = samples.flatMap { $0.scores.filter { $0.scorer == scorer }.compactMap(\.value) }
                print("  \(scorer): \(Statistics.bootstrapMean(values).formatted)")
            }
        }
    }
}

struct ReportCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "report", abstract: "Write a run's HTML report and JSON/CSV exports.")
    @Argument(help: "Run id.") var runID: String
    @Option(help: "Output folder.") var output: String = "reports"
    @OptionGroup var store: StoreOptions

    func run() async throws {
        let files = try RunReport.write(try RunData(store: try store.open(), runID: runID), to: URL(fileURLWithPath: output))
        for file in files { print(file.path) }
    }
}
