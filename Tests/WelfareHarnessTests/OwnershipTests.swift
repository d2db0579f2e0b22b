import Foundation
import Testing
import WelfareCore
import WelfareEngine
@testable import WelfareHarness
@testable import WelfareModels
import WelfareStore
import WelfareLocal
import WelfareTestSupport

/// A run is executed by one process at a time: the second is refused with the owner's name,
/// a dead or stalled owner's run can be taken over, and an interrupted run says so. Real
/// model, real SQLite files, real processes and signals.
@Suite(.serialized) struct OwnershipTests {
    static let longSuite = TestSupport.tinySuite.replacingOccurrences(of: "epochs: 2", with: "epochs: 4")

    /// Every sample done, positions contiguous, each turn once: nothing lost or duplicated.
    func expectComplete(_ store: RunStore, runID: String) async throws -> (samples: Int, turns: Int) {
        let suite = try store.suite(of: try store.run(runID))
        let specs = Dictionary(uniqueKeysWithValues: suite.samples.map { ($0.id, $0) })
        let samples = try store.samples(runId: runID)
        var turns = 0
        for sample in samples {
            #expect(sample.status == .done, "\(sample.sampleId) \(sample.status) \(sample.error ?? "")")
            let messages = try await store.messages(sampleRowId: sample.id!)
            #expect(messages.map(\.position) == Array(0..<messages.count))
            let replies = messages.filter { $0.role == .assistant }.map(\.turn)
            #expect(replies == Array(1...(specs[sample.sampleId]?.assistantTurnCount ?? 0)))
            turns += replies.count
        }
        return (samples.count, turns)
    }

    static func attempt<T>(_ body: () async throws -> T) async -> Result<T, Error> {
        do { return .success(try await body()) } catch { return .failure(error) }
    }

    func committedMessages(_ database: String) -> Int {
        guard FileManager.default.fileExists(atPath: database), let store = try? RunStore(path: database, readOnly: true),
              let run = try? store.runs().first else { return 0 }
        return (try? store.messages(runId: run.id).values.map(\.count).reduce(0, +)) ?? 0
    }

    func startWelfare(_ arguments: [String]) throws -> (Process, URL) {
        let errors = try TestSupport.temporaryDirectory().appendingPathComponent("stderr.txt")
        try Data().write(to: errors)
        let process = Process()
        process.executableURL = TestSupport.welfareBinary
        process.arguments = arguments
        process.standardOutput = FileHandle.nullDevice
        process.standardError = try FileHandle(forWritingTo: errors)
        try process.run()
        return (process, errors)
    }

    func waitForCommits(_ database: String, atLeast count: Int, while process: Process) async throws -> Int {
        for _ in 0..<1200 {
            let committed = committedMessages(database)
            if committed >= count || !process.isRunning { return committed }
            try await Task.sleep(nanoseconds: 50_000_000)
        }
        return committedMessages(database)
    }

    @Test func aSecondProcessIsRefusedWhileTheFirstRuns() async throws {
        let folder = try TestSupport.temporaryDirectory()
        let database = folder.appendingPathComponent("w.sqlite").path
        let suite = try TestSupport.writeSuite(Self.longSuite)
        let (first, firstErrors) = try startWelfare(["run", suite.path, "-m", "local:default", "--db", database])
        let committed = try await waitForCommits(database, atLeast: 3, while: first)
        #expect(first.isRunning, "the first run ended before the second could try (\(committed) messages)")
        let runID = try #require(try RunStore(path: database, readOnly: true).runs().first?.id)

        let second = try TestSupport.runWelfare(["run", "--resume", runID, "--db", database])
        #expect(second.status != 0)
        let lastLine = second.stderr.split(separator: "\n").last.map(String.init) ?? ""
        #expect(lastLine.contains("is being executed by pid \(first.processIdentifier)") && lastLine.contains("lease renewed"),
                "\(second.stderr)")

        first.waitUntilExit()
        let firstStderr = try String(contentsOf: firstErrors, encoding: .utf8)
        #expect(first.terminationStatus == 0, "\(firstStderr)")
        let store = try RunStore(path: database)
        let (samples, turns) = try await expectComplete(store, runID: runID)
        #expect(samples == 8 && turns == 20)
        #expect(store.state(of: try store.run(runID)) == .done)
    }

    @Test func twoResumesAtOnceOneWinsAndNothingIsWrittenTwice() async throws {
        let store = try RunStore(path: try TestSupport.temporaryDirectory().appendingPathComponent("w.sqlite").path)
        let suite = try SuiteLoader.load(url: try TestSupport.writeSuite(Self.longSuite))
        let runner = EvalRunner(store: store, local: LlamaModels())
        let runID = EvalRunner.newRunID()
        // Cancel the first execution once a turn is stored: the run is left interrupted.
        let started = Task { try await runner.start(suite: suite, settings: RunSettings(models: ["local:default"], seed: 5), runID: runID) }
        while ((try? store.messages(runId: runID).count) ?? 0) < 2 { try await Task.sleep(nanoseconds: 20_000_000) }
        started.cancel()
        await #expect(throws: EvalRunner.Interrupted.self) { try await started.value }
        #expect(try store.run(runID).status == .interrupted)
        #expect(try store.unfinishedSamples(runId: runID).count > 0)

        async let a = Self.attempt { try await runner.resume(runID: runID) }
        async let b = Self.attempt { try await runner.resume(runID: runID) }
        let results = await [a, b]
        let wins = results.compactMap { try? $0.get() }
        #expect(wins.count == 1)
        #expect(wins.first?.failed == 0)
        let refusals = results.compactMap { result -> String? in
            if case .failure(let error) = result { return String(describing: error) } else { return nil }
        }
        #expect(refusals.count == 1 && refusals[0].contains("is being executed by pid"), "\(refusals)")
        let (samples, turns) = try await expectComplete(store, runID: runID)
        #expect(samples == 8 && turns == 20)
    }

    /// Leases, takeover and fencing on both stores are in StoreTests; this is the part only
    /// one host can show.
    @Test func anExitedOwnerOnThisHostIsSeenAtOnce() async throws {
        let store = try RunStore(path: try TestSupport.temporaryDirectory().appendingPathComponent("w.sqlite").path)
        let suite = try SuiteLoader.load(url: try TestSupport.writeSuite(TestSupport.tinySuite))
        let policy = LeasePolicy(seconds: 30)
        let me = RunOwner()
        // An owner on this host whose process has exited is dead at once, lease or not.
        let exited = Process()
        exited.executableURL = URL(fileURLWithPath: "/bin/true")
        try exited.run()
        exited.waitUntilExit()
        let dead = RunOwner(pid: exited.processIdentifier)
        _ = try store.createRun(id: "r2", suite: suite, settings: RunSettings(models: ["local:default"]), toolVersion: "t",
                                owner: dead, policy: policy)
        #expect(store.state(of: try store.run("r2")) == .interrupted)
        try store.acquireLease(runID: "r2", owner: me, policy: policy)
    }

    @Test func sigtermStopsCleanlyAndTheRunResumes() async throws {
        let folder = try TestSupport.temporaryDirectory()
        let database = folder.appendingPathComponent("w.sqlite").path
        let suite = try TestSupport.writeSuite(Self.longSuite)
        let (process, errors) = try startWelfare(["run", suite.path, "-m", "local:default", "--db", database])
        _ = try await waitForCommits(database, atLeast: 3, while: process)
        #expect(process.isRunning)
        kill(process.processIdentifier, SIGTERM)
        process.waitUntilExit()
        let stderr = try String(contentsOf: errors, encoding: .utf8)
        #expect(process.terminationReason == .exit && process.terminationStatus == 128 + SIGTERM, "\(stderr)")
        #expect(stderr.contains("resume with: welfare run --resume"), "\(stderr)")
        let runID = try #require(try RunStore(path: database, readOnly: true).runs().first?.id)
        let listed = try TestSupport.runWelfare(["runs", "--db", database])
        #expect(listed.stdout.contains("\(runID)  tiny  interrupted"), "\(listed.stdout)")
        let shown = try TestSupport.runWelfare(["show", runID, "--db", database])
        #expect(shown.stdout.contains("interrupted") && shown.stdout.contains("resume with:"))

        let resumed = try TestSupport.runWelfare(["run", "--resume", runID, "--db", database])
        #expect(resumed.status == 0, "\(resumed.stderr)")
        let (samples, turns) = try await expectComplete(try RunStore(path: database), runID: runID)
        #expect(samples == 8 && turns == 20)
    }

    @Test func aKilledRunIsListedAsInterrupted() async throws {
        let folder = try TestSupport.temporaryDirectory()
        let database = folder.appendingPathComponent("w.sqlite").path
        let (process, _) = try startWelfare(["run", try TestSupport.writeSuite(Self.longSuite).path, "-m", "local:default", "--db", database])
        _ = try await waitForCommits(database, atLeast: 2, while: process)
        kill(process.processIdentifier, SIGKILL)
        process.waitUntilExit()
        #expect(process.terminationReason == .uncaughtSignal)
        let listed = try TestSupport.runWelfare(["runs", "--db", database])
        #expect(listed.stdout.contains("  interrupted  "), "\(listed.stdout)")
    }

    @Test func runIDsHaveOneShape() throws {
        let ids = (0..<2000).map { _ in EvalRunner.newRunID() }
        #expect(Set(ids).count == ids.count)
        let shape = try Regex("^[0-9]{8}-[0-9]{6}-[0-9a-f]{12}$")
        #expect(ids.allSatisfy { $0.wholeMatch(of: shape) != nil }, "\(ids.first { $0.wholeMatch(of: shape) == nil } ?? "")")
    }
}
