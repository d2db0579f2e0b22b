import ArgumentParser
import Foundation
import WelfareConversations
import WelfareCore
import WelfareHarness
import WelfareModels
import WelfareAssessment
import WelfareReports
import WelfareStore

/// Where runs are stored and how models are reached; shared by the run commands.
struct StoreOptions: ParsableArguments {
    @Option(help: "Run database: an SQLite file, or postgres://USER@HOST:PORT/DB (password from PGPASSWORD) shared by workers. Default: $WELFARE_DB or runs/welfare.sqlite.")
    var db: String?

    /// The location given, else `WELFARE_DB`'s, else `runs/welfare.sqlite`, as a typed
    /// `StoreLocation`. A bad address is one line naming it (never the password), not a
    /// usage screen, so it is read here rather than by the parser.
    func location() throws -> StoreLocation { try db.map { try StoreLocation($0) } ?? StoreLocation.fromEnvironment() }

    func open() throws -> RunStore { try RunStore(location: try location()) }
    /// For commands that only read: works on a database this user cannot write.
    func openReadOnly() throws -> RunStore { try RunStore(location: try location(), readOnly: true) }
}

struct RunCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "run", abstract: "Run a suite on one or more models, or resume a run.",
        discussion: "SUITE is a YAML file (docs/suite-format.md) or a built-in suite: \(BuiltInSuites.names.joined(separator: ", ")).")

    @Argument(help: "Suite file or built-in suite name.")
    var suite: String?
    @OptionGroup var models: TargetModels
    @OptionGroup var judge: JudgeOption
    @OptionGroup var length: SuiteLength
    @Option(parsing: .unconditional, help: "Override the suite's seed.")
    var seed: Seed?
    @Option(help: "Resume this run: finish its unfinished samples.")
    var resume: String?
    @Option(help: "Folder for the report written at the end (none if omitted).")
    var report: String?
    @OptionGroup var lease: LeaseOption
    @Flag(help: "Create the run without executing it: `welfare worker` processes execute its samples.")
    var enqueue = false
    @OptionGroup var store: StoreOptions
    @OptionGroup var access: AccessFlags

    func validate() throws {
        if enqueue && (resume != nil || report != nil) {
            throw ValidationError("--enqueue only creates a run: it takes no --resume or --report (workers execute it; `welfare report` writes its report)")
        }
        if resume == nil {
            guard suite != nil else { throw ValidationError("give a SUITE, or --resume RUN") }
            try models.require()
        } else if suite != nil || !models.model.isEmpty {
            throw ValidationError("--resume takes no SUITE or --model: the run keeps its own")
        }
    }

    func run() async throws {
        if let report { try OutputPath.folder(report, option: "--report") }
        let database = try store.open()
        let policy = lease.policy
        if let resume {
            // Any kind of run: the registry knows how each is resumed and reported.
            let kind = try RunKindRegistry.standard.kind(ofRun: resume, in: database)
            printError("resuming \(resume) (\(kind.id))")
            let bar = ProgressBar(label: "run")
            let environment = RunEnvironment(store: database, models: access.pool(), lease: policy,
                                             outputFolder: try report.map { try OutputPath.folder($0, option: "--report") },
                                             onProgress: ProgressBar.counting(label: kind.id.rawValue, unit: "answers"),
                                             onRunProgress: { bar.update($0) }, onCreating: { bar.creating($0, of: $1) })
            let outcome = try await Interruption.run(database: database) { try await kind.resume(runID: resume, in: environment) }
            for line in outcome.lines { print(line) }
            if let report {
                for file in try kind.writeReport(runID: resume, store: database, to: URL(fileURLWithPath: report)) { print("report: \(file.path)") }
            }
            if outcome.unfinished > 0 {
                printError("resume with: welfare run --resume \(resume) --db \(database.path)")
                throw ExitCode(3)
            }
        } else if let suite {
            let spec = length.applied(to: try SuiteLoader.load(suite))
            let settings = RunSettings(models: models.strings, judge: judge.judge?.text, seed: seed?.value ?? spec.seed, epochsOverride: length.epochs)
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
            let files = try RunReport.write(try RunData(store: database, runID: outcome.runID), to: URL(fileURLWithPath: report), sections: .conversations,
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
            let progress = (try? RunKindRegistry.standard.kind(of: run).progress(runID: run.id, store: database)) ?? "a \(run.kind) run"
            let models = (try? database.settings(of: run).models.joined(separator: ", ")) ?? "?"
            print("\(run.id)  \(run.suiteName)  \(database.state(of: run).rawValue)  \(progress)  \(models)")
        }
    }
}

struct ShowCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "show", abstract: "Summarise a run.")
    @Argument(help: "Run id.") var runID: String
    @OptionGroup var store: StoreOptions

    func run() async throws {
        let database = try store.openReadOnly()
        let run = try database.run(runID)
        let state = database.state(of: run)
        let what = run.kind == .suite ? "suite \(run.suiteName) (\(run.suiteHash))" : "\(run.kind)"
        print("run \(run.id): \(what), \(state.rawValue)")
        if state == .interrupted || state == .incomplete {
            print("resume with: welfare run --resume \(run.id) --db \(database.path)")
        } else if state == .queued {
            print("queued for workers: welfare worker --db \(database.path)")
        }
        for line in try RunKindRegistry.standard.kind(of: run).summary(runID: runID, store: database) { print(line) }
    }
}

struct ReportCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "report", abstract: "Write a run's HTML report and JSON/CSV exports.")
    @Argument(help: "Run id.") var runID: String
    @OptionGroup var output: OutputFolder
    @OptionGroup var store: StoreOptions

    func run() async throws {
        let folder = try output.folder()
        let database = try store.openReadOnly()
        for file in try RunKindRegistry.standard.kind(ofRun: runID, in: database).writeReport(runID: runID, store: database, to: folder) {
            print(file.path)
        }
    }
}
