import Foundation
import Testing
import WelfareCore
@testable import WelfareHarness
import WelfareStore
import WelfareTestSupport
@testable import WelfarePreferences

/// `welfare run --enqueue` and `welfare worker`, as processes: three workers on one queued
/// run against an OpenAI-compatible endpoint that takes its time (scripts/tests/slow_endpoint.py,
/// standing in for a serving cluster), one of them killed with -9 mid-run. On PostgreSQL (the
/// shared store) and on an SQLite file (workers on one machine).
@Suite(.serialized) struct WorkerTests {
    static let suite = """
        name: queue
        epochs: 3
        seed: 11
        pools:
          push: ["Go on.", "And then?", "Say more.", "Why so?"]
        samples:
        \((1...8).map { "  - id: s\($0)\n    user: \"Question \($0): what would you rather do today?\"\n    turns: [{pool: push}, {pool: push}]" }.joined(separator: "\n"))
        scorers:
          - type: repetition
        """

    /// The endpoint, on a free loopback port, until the returned process is killed. Its output
    /// goes nowhere: `swift test` reads this process's output to its end, so a child still
    /// holding it would keep the test run from ending.
    static func startEndpoint(latency: Double) async throws -> (process: Process, url: String) {
        let portFile = try TestSupport.temporaryDirectory().appendingPathComponent("port")
        let process = Process()
        process.executableURL = LlamaServer.packageRoot.appendingPathComponent(".welfare/python/bin/python")
        process.arguments = [LlamaServer.packageRoot.appendingPathComponent("scripts/tests/slow_endpoint.py").path, portFile.path,
                             "--latency", String(latency)]
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
        throw StoreError.cannotOpen(path: portFile.path, detail: "the endpoint did not start")
    }

    static func startWorker(_ arguments: [String], log: URL) throws -> Process {
        try Data().write(to: log)
        let process = Process()
        process.executableURL = TestSupport.welfareBinary
        process.arguments = ["worker"] + arguments
        process.standardOutput = try FileHandle(forWritingTo: log)
        process.standardError = process.standardOutput
        try process.run()
        return process
    }

    /// Each sample's transcript, by sample and epoch.
    static func transcripts(_ store: RunStore, runID: String) throws -> [String: [String]] {
        let messages = try store.messages(runId: runID)
        var result: [String: [String]] = [:]
        for sample in try store.samples(runId: runID) {
            result["\(sample.sampleId)/\(sample.epoch)"] = (messages[sample.id ?? -1] ?? []).map { "\($0.role.rawValue): \($0.content)" }
        }
        return result
    }

    @Test(arguments: StoreBackend.allCases)
    func threeWorkersOneKilledFinishEverySampleOnce(_ backend: StoreBackend) async throws {
        let location = try backend.newLocation()
        let (endpoint, model) = try await Self.startEndpoint(latency: 0.25)
        defer { kill(endpoint.processIdentifier, SIGKILL) }
        let suiteFile = try TestSupport.writeSuite(Self.suite)

        // The reference: the same suite run in process on SQLite.
        let reference = try TestSupport.temporaryDirectory().appendingPathComponent("reference.sqlite").path
        let inProcess = try TestSupport.runWelfare(["run", suiteFile.path, "-m", model, "--db", reference])
        #expect(inProcess.status == 0, "\(inProcess.stderr)")
        let referenceStore = try RunStore(path: reference, readOnly: true)
        let referenceRun = try #require(try referenceStore.runs().first?.id)

        let queued = try TestSupport.runWelfare(["run", suiteFile.path, "-m", model, "--db", location, "--enqueue"])
        #expect(queued.status == 0, "\(queued.stderr)")
        #expect(queued.stdout.contains("queued: 24 samples"), "\(queued.stdout)")
        let store = try RunStore(path: location)
        let runID = try #require(try store.runs().first?.id)
        #expect(try store.run(runID).status == .queued)

        let logs = try TestSupport.temporaryDirectory()
        let arguments = ["--db", location, "--concurrency", "2", "--lease", "2", "--poll", "0.2", "--exit-when-idle"]
        let workers = try (0..<3).map { try Self.startWorker(arguments, log: logs.appendingPathComponent("w\($0).log")) }
        // Kill the first worker once some samples are done, while it holds claims.
        var doneAtKill = 0
        for _ in 0..<600 {
            try await Task.sleep(nanoseconds: 50_000_000)
            doneAtKill = try store.samples(runId: runID).filter { $0.status == .done }.count
            if doneAtKill >= 5 { break }
        }
        kill(workers[0].processIdentifier, SIGKILL)
        workers[0].waitUntilExit()
        #expect(workers[0].terminationReason == .uncaughtSignal)
        #expect(doneAtKill >= 5 && doneAtKill < 24, "samples done when the worker was killed: \(doneAtKill)")
        for worker in workers.dropFirst() {
            worker.waitUntilExit()
            let log = (try? String(contentsOf: logs.appendingPathComponent("w\(workers.firstIndex(of: worker) ?? 0).log"), encoding: .utf8)) ?? ""
            #expect(worker.terminationStatus == 0, "\(log)")
        }

        // Every sample done once, its turns contiguous and each once, as in process.
        let run = try store.run(runID)
        #expect(run.status == .done)
        let samples = try store.samples(runId: runID)
        #expect(samples.count == 24 && samples.allSatisfy { $0.status == .done })
        let messages = try store.messages(runId: runID)
        for sample in samples {
            let stored = messages[sample.id ?? -1] ?? []
            #expect(stored.map(\.position) == Array(0..<stored.count))
            #expect(stored.filter { $0.role == .assistant }.map(\.turn) == [1, 2, 3], "\(sample.sampleId)/\(sample.epoch)")
        }
        // The killed worker's claims were taken over after their lease expired.
        #expect(samples.contains { $0.attempts >= 2 }, "no sample was taken over: \(samples.map(\.attempts))")
        #expect(try Self.transcripts(store, runID: runID) == Self.transcripts(referenceStore, runID: referenceRun))
        #expect(try store.scores(runId: runID).count == referenceStore.scores(runId: referenceRun).count)

        // The commands that read work on either store.
        let shown = try TestSupport.runWelfare(["show", runID, "--db", location])
        #expect(shown.status == 0 && shown.stdout.contains("24/24 samples done"), "\(shown.stdout)\(shown.stderr)")
        let listed = try TestSupport.runWelfare(["runs", "--db", location])
        #expect(listed.stdout.contains("\(runID)  queue  done  24/24 samples"), "\(listed.stdout)")
        let reportFolder = try TestSupport.temporaryDirectory()
        let report = try TestSupport.runWelfare(["report", runID, "--db", location, "--output", reportFolder.path])
        #expect(report.status == 0, "\(report.stderr)")
        let json = try String(contentsOf: reportFolder.appendingPathComponent("run-\(runID).json"), encoding: .utf8)
        #expect(json.contains("\"sampleId\" : \"s8\"") || json.contains("\"s8\""))
    }

    /// SIGTERM stops a worker at once and gives its claims back, so other workers need not
    /// wait for the lease; exit status 143.
    @Test func sigtermGivesAWorkersClaimsBack() async throws {
        let location = try StoreBackend.sqlite.newLocation()
        let (endpoint, model) = try await Self.startEndpoint(latency: 2)
        defer { kill(endpoint.processIdentifier, SIGKILL) }
        let queued = try TestSupport.runWelfare(["run", try TestSupport.writeSuite(Self.suite).path, "-m", model, "--db", location, "--enqueue"])
        #expect(queued.status == 0, "\(queued.stderr)")
        let log = try TestSupport.temporaryDirectory().appendingPathComponent("worker.log")
        let worker = try Self.startWorker(["--db", location, "--concurrency", "3", "--lease", "600"], log: log)
        let store = try RunStore(path: location, readOnly: true)
        let runID = try #require(try store.runs().first?.id)
        var claimed = 0
        for _ in 0..<200 where claimed < 3 {
            try await Task.sleep(nanoseconds: 50_000_000)
            claimed = try store.samples(runId: runID).filter { $0.attempts > 0 }.count
        }
        #expect(claimed == 3)
        kill(worker.processIdentifier, SIGTERM)
        worker.waitUntilExit()
        let printed = try String(contentsOf: log, encoding: .utf8)
        #expect(worker.terminationStatus == 143, "\(printed)")
        #expect(printed.contains("claims given back"))
        // Nothing is held, and the attempts were not counted: another worker starts at once.
        #expect(try store.samples(runId: runID).allSatisfy { $0.attempts == 0 && $0.status == .pending })
        #expect(try store.run(runID).status == .queued)
    }

    /// A worker that cannot load a run's model stops with one line and gives its claims back,
    /// rather than failing every sample of the run for the others.
    @Test func aWorkerThatCannotLoadTheModelStopsAndFailsNothing() async throws {
        let location = try StoreBackend.sqlite.newLocation()
        let missing = try TestSupport.temporaryDirectory().appendingPathComponent("absent.gguf").path
        let queued = try TestSupport.runWelfare(["run", try TestSupport.writeSuite(Self.suite).path, "-m", "local:\(missing)",
                                                 "--db", location, "--enqueue"])
        #expect(queued.status == 0, "\(queued.stderr)")
        let worker = try TestSupport.runWelfare(["worker", "--db", location, "--exit-when-idle"])
        #expect(worker.status == 1)
        let lines = worker.stderr.split(separator: "\n").filter { $0.hasPrefix("Error:") }
        #expect(lines.count == 1 && lines[0].contains("absent.gguf"), "\(worker.stderr)")
        let store = try RunStore(path: location, readOnly: true)
        let runID = try #require(try store.runs().first?.id)
        #expect(try store.samples(runId: runID).allSatisfy { $0.status == .pending && $0.attempts == 0 })
    }

    /// The password never reaches output, errors, the database or reports; bad addresses
    /// and refused logins are one line and a non-zero exit.
    @Test func postgresPasswordsStayOutOfEverythingAndBadAddressesAreOneLine() async throws {
        let location = try TestPostgres.newDatabase()
        let password = try #require(ProcessInfo.processInfo.environment["PGPASSWORD"])
        let withPassword = location.replacingOccurrences(of: "postgres://welfare@", with: "postgres://welfare:\(password)@")
        let suiteFile = try TestSupport.writeSuite(TestSupport.tinySuite)
        let (endpoint, model) = try await Self.startEndpoint(latency: 0)
        defer { kill(endpoint.processIdentifier, SIGKILL) }
        let ran = try TestSupport.runWelfare(["run", suiteFile.path, "-m", model, "--db", withPassword])
        #expect(ran.status == 0, "\(ran.stderr)")
        let store = try RunStore(path: withPassword)
        #expect(!store.path.contains(password))
        let runID = try #require(try store.runs().first?.id)
        let folder = try TestSupport.temporaryDirectory()
        var seen = ran.stdout + ran.stderr
        for arguments in [["runs"], ["show", runID], ["report", runID, "--output", folder.path]] {
            let result = try TestSupport.runWelfare(arguments + ["--db", withPassword])
            #expect(result.status == 0, "\(result.stderr)")
            seen += result.stdout + result.stderr
        }
        for file in try FileManager.default.contentsOfDirectory(at: folder, includingPropertiesForKeys: nil) {
            seen += try String(contentsOf: file, encoding: .utf8)
        }
        // The dashboard lists the run from PostgreSQL and names the database without the password.
        let server = try ServeTests.ServeProcess(["--db", withPassword])
        let page = try TestSupport.python("import sys, urllib.request; print(urllib.request.urlopen(sys.argv[1] + '/', timeout=60).read().decode())",
                                          server.root)
        #expect(page.contains(runID), "\(page)")
        seen += page
        #expect(seen.contains("postgres://welfare@"))
        #expect(!seen.contains(password))
        let dump = try TestPostgres.psql(location, "SELECT string_agg(t::text, ' ') FROM (SELECT * FROM run) t")
        #expect(dump.status == 0 && dump.text.contains(runID) && !dump.text.contains(password))

        let wrong = location.replacingOccurrences(of: "postgres://welfare@", with: "postgres://welfare:not-the-password@")
        let refused = try TestSupport.runWelfare(["runs", "--db", wrong])
        #expect(refused.status != 0)
        #expect(refused.stderr.split(separator: "\n").count == 1 && refused.stderr.contains("cannot open the run database"), "\(refused.stderr)")
        #expect(!refused.stderr.contains("not-the-password"))
        for bad in ["postgres://welfare@127.0.0.1:1/x", "postgres://welfare@127.0.0.1:99999/x", "postgresql://:secret@/"] {
            let result = try TestSupport.runWelfare(["runs", "--db", bad])
            #expect(result.status != 0 && result.stderr.split(separator: "\n").count == 1, "\(bad): \(result.stderr)")
            #expect(!result.stderr.contains("secret"))
        }
        let missing = try TestSupport.runWelfare(["show", "nope", "--db", location])
        #expect(missing.status != 0 && missing.stderr.contains("no run 'nope'"), "\(missing.stderr)")
    }
}

/// A queued preferences run (a keyed measure, executed whole under the run's lease) finished
/// by two worker processes, the one holding it killed with -9: the other takes it over when
/// the lease expires and asks only what was not stored. On both stores.
@Suite(.serialized) struct KeyedWorkerTests {
    static func requests(_ endpoint: String) throws -> Int {
        // The endpoint's own count, read with curl (an independent client).
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["curl", "-s", endpoint.replacingOccurrences(of: "openai:slow@", with: "").replacingOccurrences(of: "/v1", with: "/stats")]
        let output = Pipe()
        process.standardOutput = output
        try process.run()
        let data = output.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        let object = try JSONSerialization.jsonObject(with: data) as? [String: Any]
        return object?["requests"] as? Int ?? -1
    }

    @Test(arguments: StoreBackend.allCases)
    func aQueuedPreferencesRunIsFinishedByTwoWorkersOneKilled(_ backend: StoreBackend) async throws {
        let location = try backend.newLocation()
        let (endpoint, model) = try await WorkerTests.startEndpoint(latency: 0.15)
        defer { kill(endpoint.processIdentifier, SIGKILL) }
        let folder = try TestSupport.temporaryDirectory()
        let bank = try PreferenceRunTests.writeBank(try PreferenceRunTests.smallBank().tasks)
        let settings = ["preferences", "-m", model, "--tasks", bank.path, "--rounds", "3", "--framings", "prefer", "--no-stated", "--resamples", "20"]

        let reference = folder.appendingPathComponent("reference.sqlite").path
        let inProcess = try TestSupport.runWelfare(settings + ["--db", reference, "--output", folder.appendingPathComponent("ref").path])
        #expect(inProcess.status == 0, "\(inProcess.stderr)")
        let referenceStore = try RunStore(path: reference, readOnly: true)
        let expected = try referenceStore.items(ChoiceAnswer.self, runID: try #require(try referenceStore.runs().first?.id), prefix: "choice/")

        let queued = try TestSupport.runWelfare(settings + ["--db", location, "--enqueue", "--output", folder.path])
        #expect(queued.status == 0 && queued.stdout.contains("queued"), "\(queued.stdout)\(queued.stderr)")
        let store = try RunStore(path: location)
        let runID = try #require(try store.runs().first?.id)
        #expect(try store.run(runID).status == .queued && store.run(runID).kind == "preferences")
        #expect(try store.itemCount(runID: runID, prefix: "choice/") == 0, "queuing asks nothing")
        let before = try Self.requests(model)

        let arguments = ["--db", location, "--concurrency", "1", "--lease", "2", "--poll", "0.2", "--exit-when-idle"]
        let workers = try (0..<2).map { try WorkerTests.startWorker(arguments, log: folder.appendingPathComponent("w\($0).log")) }
        // Kill whichever worker holds the run once it has stored a few answers.
        var holder: Process?
        for _ in 0..<600 {
            try await Task.sleep(nanoseconds: 50_000_000)
            let run = try store.run(runID)
            if try store.itemCount(runID: runID, prefix: "choice/") >= 4, let pid = run.ownerPid {
                holder = workers.first { $0.processIdentifier == pid }
                break
            }
        }
        let killed = try #require(holder, "no worker took the run")
        let storedAtKill = try store.itemCount(runID: runID, prefix: "choice/")
        kill(killed.processIdentifier, SIGKILL)
        killed.waitUntilExit()
        let other = try #require(workers.first { $0 !== killed })
        other.waitUntilExit()
        let log = (try? String(contentsOf: folder.appendingPathComponent("w\(workers.firstIndex { $0 === other } ?? 0).log"), encoding: .utf8)) ?? ""
        #expect(other.terminationStatus == 0 && log.contains("done preferences run \(runID)"), "\(log)")

        #expect(try store.run(runID).status == .done)
        let answers = try store.items(ChoiceAnswer.self, runID: runID, prefix: "choice/")
        #expect(storedAtKill < expected.count)
        #expect(answers.count == expected.count && Set(answers.keys) == Set(expected.keys), "the same pairs as in process")
        #expect(answers.allSatisfy { expected[$0.key]?.reply == $0.value.reply })
        // Listed with its answers, as the dashboard shows it, not as "0/0 samples".
        let listed = try TestSupport.runWelfare(["runs", "--db", location])
        #expect(listed.stdout.contains("\(runID)  preferences  done  \(answers.count)/\(answers.count) answers"), "\(listed.stdout)")
        // Each stored answer was asked once, but for the one in flight at the kill.
        let asked = try Self.requests(model) - before
        #expect(asked >= answers.count && asked <= answers.count + 1, "asked \(asked) for \(answers.count) answers")
    }
}
