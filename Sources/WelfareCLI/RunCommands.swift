import ArgumentParser
import Foundation
import WelfareCore
import WelfareHarness
import WelfareModels
import WelfarePreferences
import WelfareSelfReports
import WelfareReports
import WelfareStore

/// Where runs are stored and how models are reached; shared by the run commands.
struct StoreOptions: ParsableArguments {
    @Option(help: "Run database: an SQLite file, or postgres://USER@HOST:PORT/DB (password from PGPASSWORD) shared by workers. Default: $WELFARE_DB or runs/welfare.sqlite.")
    var db: String = ProcessInfo.processInfo.environment["WELFARE_DB"] ?? "runs/welfare.sqlite"

    func open() throws -> RunStore { try RunStore(path: db) }
    /// For commands that only read: works on a database this user cannot write.
    func openReadOnly() throws -> RunStore { try RunStore(path: db, readOnly: true) }
}

struct RunCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "run", abstract: "Run a suite on one or more models, or resume a run.",
        discussion: "SUITE is a YAML file (docs/suite-format.md) or a built-in suite: \(BuiltInSuites.names.joined(separator: ", ")).")

    @Argument(help: "Suite file or built-in suite name.")
    var suite: String?
    @Option(name: .shortAndLong, help: "Model string (repeatable): local:default, local:PATH, openai:MODEL[@URL], anthropic:MODEL[@URL].")
    var model: [ModelArgument] = []
    @Option(help: "Judge model for judge scorers.")
    var judge: ModelArgument?
    @Option(parsing: .unconditional, help: "Override the suite's epochs (samples per prompt), 1 to \(SuiteLoader.epochRange.upperBound).")
    var epochs: Int?
    @Option(parsing: .unconditional, help: "Override the suite's seed.")
    var seed: UInt32?
    @Option(help: "Resume this run: finish its unfinished samples.")
    var resume: String?
    @Option(help: "Folder for the report written at the end (none if omitted).")
    var report: String?
    @Option(parsing: .unconditional, help: "Seconds a run's ownership lasts without renewal; another process may take over an expired run.")
    var lease: Double = 30
    @Flag(help: "Create the run without executing it: `welfare worker` processes execute its samples.")
    var enqueue = false
    @OptionGroup var store: StoreOptions
    @OptionGroup var access: AccessFlags

    func validate() throws {
        guard lease >= 1, lease <= 3600 else { throw ValidationError("--lease must be between 1 and 3600 seconds") }
        if enqueue && (resume != nil || report != nil) {
            throw ValidationError("--enqueue only creates a run: it takes no --resume or --report (workers execute it; `welfare report` writes its report)")
        }
        if resume == nil {
            guard suite != nil else { throw ValidationError("give a SUITE, or --resume RUN") }
            guard !model.isEmpty else { throw ValidationError("give at least one --model") }
        } else if suite != nil || !model.isEmpty {
            throw ValidationError("--resume takes no SUITE or --model: the run keeps its own")
        }
        if let epochs, !SuiteLoader.epochRange.contains(epochs) {
            throw ValidationError("--epochs must be between 1 and \(SuiteLoader.epochRange.upperBound)")
        }
    }

    func run() async throws {
        if let report { try OutputPath.folder(report, option: "--report") }
        let database = try store.open()
        let policy = LeasePolicy(seconds: lease)
        if let resume {
            let suite = try database.run(resume).suiteName
            if let command = [PreferenceRunner.suiteName: "preferences", SelfReportRunner.suiteName: "self-reports"][suite] {
                throw InputError("run \(resume) is a \(command) run: resume it with welfare \(command) --resume \(resume)")
            }
            printError("resuming \(resume)")
            let runner = SuiteRun.runner(database, models: access.pool(), lease: policy, label: "run")
            let outcome = try await Interruption.run(database: database) { try await runner.resume(runID: resume) }
            try SuiteRun.finish(outcome, database: database, report: report)
        } else if let suite {
            let spec = try SuiteLoader.load(suite)
            let settings = RunSettings(models: model.map(\.text), judge: judge?.text, seed: seed ?? spec.seed, epochsOverride: epochs)
            if enqueue {
                let bar = ProgressBar(label: "enqueue")
                let run = try database.enqueueRun(id: EvalRunner.newRunID(), suite: spec, settings: settings, toolVersion: EvalRunner.toolVersion,
                                                  onProgress: { bar.creating($0, of: $1) })
                let samples = try database.samples(runId: run.id).count
                print("run \(run.id) queued: \(samples) samples (database \(database.path))")
                printError("execute it with: welfare worker --db \(database.path) (on any number of machines)")
                return
            }
            try await SuiteRun.runAndReport(spec, settings: settings, database: database, models: access.pool(), report: report,
                                            lease: policy)
        }
    }
}

/// Running a suite from the command line: progress bar, a summary, the report, and exit
/// status 3 with the resume command when samples are left unfinished.
enum SuiteRun {
    /// A runner that shows its progress on standard error.
    static func runner(_ database: RunStore, models: ModelPool, lease: LeasePolicy = LeasePolicy(), label: String) -> EvalRunner {
        let bar = ProgressBar(label: label)
        return EvalRunner(store: database, models: models, lease: lease, onCreating: { bar.creating($0, of: $1) }) { bar.update($0) }
    }

    /// Runs a suite with a progress bar; Ctrl-C or SIGTERM stops it cleanly with the resume
    /// command.
    static func run(_ suite: SuiteSpec, settings: RunSettings, database: RunStore, models: ModelPool,
                    lease: LeasePolicy = LeasePolicy()) async throws -> EvalRunner.RunOutcome {
        let runner = runner(database, models: models, lease: lease, label: suite.name)
        return try await Interruption.run(database: database) { try await runner.start(suite: suite, settings: settings) }
    }

    static func runAndReport(_ suite: SuiteSpec, settings: RunSettings, database: RunStore, models: ModelPool,
                             report: String?, lease: LeasePolicy = LeasePolicy(),
                             afterRun: ((String) async throws -> Void)? = nil,
                             extraSections: ((RunData) async throws -> [String])? = nil) async throws {
        if let report { try OutputPath.folder(report, option: "--output") }
        let outcome = try await run(suite, settings: settings, database: database, models: models, lease: lease)
        try await afterRun?(outcome.runID)
        let sections = try await extraSections?(try RunData(store: database, runID: outcome.runID)) ?? []
        try finish(outcome, database: database, report: report, extraSections: sections)
    }

    static func finish(_ outcome: EvalRunner.RunOutcome, database: RunStore, report: String?, extraSections: [String] = []) throws {
        for skipped in outcome.skippedScorers { printError("note: scorer \(skipped) not run (no --judge)") }
        for error in outcome.errors.prefix(5) { printError("failed: \(error)") }
        print("run \(outcome.runID): \(outcome.done) samples done, \(outcome.failed) not done (database \(database.path))")
        if let report {
            let files = try RunReport.write(try RunData(store: database, runID: outcome.runID), to: URL(fileURLWithPath: report),
                                            extraSections: extraSections)
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
        let database = try store.openReadOnly()
        let runs = try database.runs()
        if runs.isEmpty { print("no runs in \(database.path)") }
        for run in runs {
            let samples = try database.samples(runId: run.id)
            let done = samples.filter { $0.status == .done }.count
            let models = (try? database.settings(of: run).models.joined(separator: ", ")) ?? "?"
            print("\(run.id)  \(run.suiteName)  \(database.state(of: run).rawValue)  \(done)/\(samples.count) samples  \(models)")
        }
    }
}

struct ShowCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "show", abstract: "Summarise a run.")
    @Argument(help: "Run id.") var runID: String
    @OptionGroup var store: StoreOptions

    func run() async throws {
        let database = try store.openReadOnly()
        let data = try RunData(store: database, runID: runID)
        let state = database.state(of: data.run)
        print("run \(data.run.id): suite \(data.run.suiteName) (\(data.run.suiteHash)), \(state.rawValue)")
        if state == .interrupted || state == .incomplete {
            print("resume with: welfare run --resume \(data.run.id) --db \(database.path)")
        } else if state == .queued {
            print("queued for workers: welfare worker --db \(database.path)")
        }
        for model in data.models {
            let samples = data.samples(model: model)
            print("\(model): \(samples.filter { $0.record.status == .done }.count)/\(samples.count) samples done")
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
        let folder = try OutputPath.folder(output, option: "--output")
        let database = try store.openReadOnly()
        let written: (json: URL, page: URL)?
        switch try database.run(runID).suiteName {
        case PreferenceRunner.suiteName: written = try PreferencesReport.write(try PreferenceAnalysis.analyse(runID: runID, store: database), to: folder)
        case SelfReportRunner.suiteName: written = try SelfReportsReport.write(try SelfReportAnalysis.analyse(runID: runID, store: database), to: folder)
        default: written = nil
        }
        if let written {
            print(written.json.path)
            print(written.page.path)
            return
        }
        let files = try RunReport.write(try RunData(store: database, runID: runID), to: folder)
        for file in files { print(file.path) }
    }
}
