import ArgumentParser
import Dispatch
import Foundation
import Synchronization
import WelfareCore
import WelfareHarness
import WelfareStore

/// Ctrl-C and SIGTERM cancel the run in progress instead of killing the process, so the run
/// is stored as `interrupted`, its lease given up, and the resume command printed.
enum Interruption {
    /// The signal that ended the last run (0 if none), for the exit status 128 + signal.
    static let received = Atomic<Int32>(0)

    static func cancellingOnSignals<T: Sendable>(_ body: @escaping @Sendable () async throws -> T) async throws -> T {
        let task = Task { try await body() }
        let sources = [SIGINT, SIGTERM].map { number -> DispatchSourceSignal in
            signal(number, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: number, queue: .global())
            source.setEventHandler {
                // A second signal stops the process at once: what was committed is kept.
                if received.exchange(number, ordering: .relaxed) != 0 {
                    printError("\nstopped at once (signal \(number)); what was committed is kept")
                    exit(128 + number)
                }
                printError("\nstopping after the turns in flight (signal \(number); again to stop at once)...")
                task.cancel()
            }
            source.resume()
            return source
        }
        defer {
            for source in sources { source.cancel() }
            signal(SIGINT, SIG_DFL)
            signal(SIGTERM, SIG_DFL)
        }
        return try await task.value
    }

    /// Runs an execution (a suite run, a preferences run); an interruption prints the resume
    /// command and exits with 128 + the signal's number.
    static func run<T: Sendable>(database: RunStore, resume: @escaping @Sendable (String) -> String = { "welfare run --resume \($0)" },
                                 _ body: @escaping @Sendable () async throws -> T) async throws -> T {
        do {
            return try await cancellingOnSignals(body)
        } catch let interrupted as EvalRunner.Interrupted {
            printError("run \(interrupted.runID) interrupted; what was committed is kept")
            printError("resume with: \(resume(interrupted.runID)) --db \(database.path)")
            let number = received.load(ordering: .relaxed)
            throw ExitCode(128 + (number == 0 ? SIGINT : number))
        } catch where error is CancellationError && received.load(ordering: .relaxed) != 0 {
            // Stopped between runs (extracting vectors, writing a report): nothing was left half done.
            printError("stopped; what was committed is kept")
            throw ExitCode(128 + received.load(ordering: .relaxed))
        }
    }
}
