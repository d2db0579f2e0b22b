import ArgumentParser
import Foundation
import WelfareAssessment
import WelfareHarness
import WelfareStore

struct WorkerCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "worker", abstract: "Execute queued runs (--enqueue), beside any number of other workers.",
        discussion: """
            Claims one sample at a time under a lease it renews, and commits every turn. A worker that dies loses its \
            claims when their lease expires; another worker then continues those samples after their last committed turn. \
            Queued runs of a keyed measure (preferences, self-reports) are executed whole by one worker at a time, under \
            the run's lease, and taken over the same way. Use a PostgreSQL --db to spread workers over machines; an SQLite file serves workers on one machine. \
            See "Many workers" in the README.
            """)

    @OptionGroup var store: StoreOptions
    @OptionGroup var access: AccessFlags
    @OptionGroup var lease: LeaseOption
    @Option(name: .customLong("max-attempts"), parsing: .unconditional,
            help: "Claims of one sample before it is marked failed (each claim whose worker died counts).")
    var maxAttempts: Int = 3
    @Option(parsing: .unconditional, help: "Seconds between looks for work when there is none.")
    var poll: Double = 1
    @Flag(name: .customLong("exit-when-idle"), help: "Exit once no queued run has a pending sample, instead of waiting for new runs.")
    var exitWhenIdle = false

    func validate() throws {
        guard (1...100).contains(maxAttempts) else { throw ValidationError("--max-attempts must be between 1 and 100") }
        guard poll >= 0.05, poll <= 600 else { throw ValidationError("--poll must be between 0.05 and 600 seconds") }
    }

    func run() async throws {
        let database = try store.open()
        let process = ProcessInfo.processInfo
        printError("worker pid \(process.processIdentifier) on \(process.hostName): \(access.concurrency) samples at a time, "
                   + "lease \(Int(lease.lease)) s, database \(database.path)")
        let worker = RunWorker(store: database, models: access.pool(), kinds: .standard, lease: lease.policy, concurrency: access.concurrency,
                               maxAttempts: maxAttempts, pollSeconds: poll, exitWhenIdle: exitWhenIdle) { event in
            switch event {
            case .finished(let run, let sample, let epoch, let model, nil): printError("done \(run) \(sample) epoch \(epoch) on \(model)")
            case .finished(let run, let sample, let epoch, let model, let error?):
                printError("failed \(run) \(sample) epoch \(epoch) on \(model): \(error)")
            case .lost(let run, let sample, let epoch): printError("lost \(run) \(sample) epoch \(epoch): taken over by another worker")
            case .finishedRun(let run, let kind, nil): printError("done \(kind) run \(run)")
            case .finishedRun(let run, let kind, let error?): printError("stopped \(kind) run \(run): \(error)")
            }
        }
        do {
            let summary = try await Interruption.cancellingOnSignals { try await worker.run() }
            print("worker finished: \(summary.done) samples done, \(summary.failed) failed, \(summary.lost) taken over by other workers, "
                  + "\(summary.runs) runs finished whole")
        } catch let stopped as RunWorker.Stopped {
            printError(stopped.description)
            let number = Interruption.received.load(ordering: .relaxed)
            throw ExitCode(128 + (number == 0 ? SIGINT : number))
        }
    }
}
