import ArgumentParser
import Foundation
import WelfareHarness
import WelfareStore

/// Workers on one queued run (`welfare worker`), against an OpenAI-compatible endpoint with a
/// fixed latency (scripts/tests/slow_endpoint.py: answers cost no CPU here, as a serving
/// cluster's would not): samples per second with 1, 2 and 4 worker processes, on PostgreSQL
/// and on an SQLite file; and the store's own cost per sample, from one worker doing one
/// sample at a time against an endpoint that answers at once.
struct WorkersBenchmark: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "workers",
                                                    abstract: "Samples per second with 1, 2 and 4 workers; store cost per sample, PostgreSQL vs SQLite.")

    @Option(help: "PostgreSQL server to create benchmark databases on (scripts/bench.sh workers starts one). Password from PGPASSWORD.")
    var postgres: String = ProcessInfo.processInfo.environment["WELFARE_BENCH_POSTGRES"] ?? ""
    @Option(help: "Samples in the queued run (each two turns).")
    var samples: Int = 96
    @Option(help: "Seconds the endpoint takes to answer each request.")
    var latency: Double = 0.5
    @Option(help: "Samples in flight per worker (welfare worker --concurrency).")
    var concurrency: Int = 4
    @Option(help: "Single-turn samples for the per-sample store cost.")
    var overheadSamples: Int = 300
    @OptionGroup var tools: ToolPaths

    func run() async throws {
        guard samples >= 4, latency >= 0, concurrency >= 1, overheadSamples >= 10 else {
            throw ValidationError("need --samples >= 4, --latency >= 0, --concurrency >= 1, --overhead-samples >= 10")
        }
        guard PostgresLocation.isPostgres(postgres) else {
            throw ValidationError("give --postgres postgres://USER@HOST:PORT/DB (scripts/bench.sh workers starts a server)")
        }
        let work = FileManager.default.temporaryDirectory.appendingPathComponent("welfare-bench-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: work, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: work) }
        let twoTurns = work.appendingPathComponent("two-turns.yaml")
        try suite(samples: samples, turns: 2).write(to: twoTurns, atomically: true, encoding: .utf8)
        let oneTurn = work.appendingPathComponent("one-turn.yaml")
        try suite(samples: overheadSamples, turns: 1).write(to: oneTurn, atomically: true, encoding: .utf8)

        let (slow, slowModel) = try await startEndpoint(latency: latency, folder: work)
        defer { kill(slow.processIdentifier, SIGKILL) }
        print("queued run of \(samples) two-turn samples, endpoint latency \(latency) s, \(concurrency) samples in flight per worker")
        print("store       workers  wall s  samples/s  vs 1 worker")
        var database = 0
        for store in ["postgres", "sqlite"] {
            var base: Double?
            for workers in [1, 2, 4] {
                database += 1
                let location = try newLocation(store, index: database, folder: work)
                progress("\(store), \(workers) workers")
                let seconds = try await timeWorkers(workers, suite: twoTurns, model: slowModel, location: location, concurrency: concurrency)
                let rate = Double(samples) / seconds
                if base == nil { base = rate }
                print(padded(store) + String(format: "  %7d  %6.2f  %9.2f  %10.2fx", workers, seconds, rate, rate / (base ?? rate)))
            }
        }

        let (fast, fastModel) = try await startEndpoint(latency: 0, folder: work)
        defer { kill(fast.processIdentifier, SIGKILL) }
        print("\nstore cost: one worker, one sample at a time, \(overheadSamples) one-turn samples, endpoint answering at once")
        var perSample: [String: Double] = [:]
        for store in ["postgres", "sqlite"] {
            database += 1
            let location = try newLocation(store, index: database, folder: work)
            progress("\(store) per-sample cost")
            let seconds = try await timeWorkers(1, suite: oneTurn, model: fastModel, location: location, concurrency: 1)
            perSample[store] = seconds / Double(overheadSamples)
            print(padded(store) + String(format: "  %.2f ms per sample (worker wall time / samples, endpoint included)",
                                         seconds * 1000 / Double(overheadSamples)))
        }
        // The same samples run in process (`welfare run`, one at a time) on SQLite: the path
        // without claims or leases.
        progress("in-process run per-sample cost")
        let inProcess = try timeCommand(tools.welfare, ["run", oneTurn.path, "-m", fastModel, "--concurrency", "1",
                                                         "--db", work.appendingPathComponent("in-process.sqlite").path])
        print(padded("in process") + String(format: "  %.2f ms per sample (welfare run on SQLite, for comparison)",
                                              inProcess * 1000 / Double(overheadSamples)))
        if let pg = perSample["postgres"], let lite = perSample["sqlite"] {
            print(String(format: "PostgreSQL costs %.2f ms more per sample than SQLite (%.2fx)", (pg - lite) * 1000, pg / lite))
        }
    }

    func padded(_ text: String) -> String { text.padding(toLength: 10, withPad: " ", startingAt: 0) }

    func suite(samples: Int, turns: Int) -> String {
        var yaml = "name: workers-bench\nepochs: 1\nseed: 3\npools:\n  push: [\"Go on.\", \"Why?\"]\nsamples:\n"
        for index in 1...samples {
            yaml += "  - id: s\(index)\n    user: \"Question \(index): which task would you rather do next?\"\n"
            if turns > 1 { yaml += "    turns: [\(Array(repeating: "{pool: push}", count: turns - 1).joined(separator: ", "))]\n" }
        }
        return yaml + "scorers:\n  - type: repetition\n"
    }

    func newLocation(_ store: String, index: Int, folder: URL) throws -> String {
        if store == "sqlite" { return folder.appendingPathComponent("w\(index).sqlite").path }
        let name = "welfare_bench_\(ProcessInfo.processInfo.processIdentifier)_\(index)"
        _ = try timeCommand("/usr/bin/env", ["psql", postgres, "-v", "ON_ERROR_STOP=1", "-qc", "CREATE DATABASE \(name)"])
        guard let slash = postgres.range(of: "/", options: .backwards) else { throw ValidationError("no database in --postgres") }
        return String(postgres[..<slash.lowerBound]) + "/" + name
    }

    /// Enqueues the suite, then times `workers` worker processes from their start until the
    /// last exits (`--exit-when-idle`), and checks every sample ended done.
    func timeWorkers(_ workers: Int, suite: URL, model: String, location: String, concurrency: Int) async throws -> Double {
        _ = try timeCommand(tools.welfare, ["run", suite.path, "-m", model, "--db", location, "--enqueue"])
        let started = Date()
        let processes = try (0..<workers).map { _ -> Process in
            let process = Process()
            process.executableURL = URL(fileURLWithPath: tools.welfare, relativeTo: URL(fileURLWithPath: FileManager.default.currentDirectoryPath))
            process.arguments = ["worker", "--db", location, "--concurrency", String(concurrency), "--exit-when-idle", "--poll", "0.1"]
            process.standardOutput = FileHandle.nullDevice
            process.standardError = FileHandle.nullDevice
            try process.run()
            return process
        }
        for process in processes {
            process.waitUntilExit()
            guard process.terminationStatus == 0 else { throw ValidationError("a worker exited with status \(process.terminationStatus)") }
        }
        let seconds = Date().timeIntervalSince(started)
        let store = try RunStore(path: location, readOnly: true)
        guard let run = try store.runs().first, run.status == .done else { throw ValidationError("the queued run did not finish done") }
        return seconds
    }

    func startEndpoint(latency: Double, folder: URL) async throws -> (Process, String) {
        let portFile = folder.appendingPathComponent("port-\(latency)")
        let process = Process()
        process.executableURL = URL(fileURLWithPath: tools.python, relativeTo: URL(fileURLWithPath: FileManager.default.currentDirectoryPath))
        process.arguments = ["scripts/tests/slow_endpoint.py", portFile.path, "--latency", String(latency)]
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
        for _ in 0..<200 {
            if let port = try? String(contentsOf: portFile, encoding: .utf8), !port.isEmpty {
                return (process, "openai:slow@http://127.0.0.1:\(port)/v1")
            }
            try await Task.sleep(nanoseconds: 50_000_000)
        }
        kill(process.processIdentifier, SIGKILL)
        throw ValidationError("the endpoint did not start")
    }
}
