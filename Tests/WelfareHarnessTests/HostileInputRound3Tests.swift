import Foundation
import Testing
import WelfareStore
import WelfareTestSupport

/// The third round of hostile input (issue 29), through the binary: files that end early,
/// bounds every command shares, archives made by many processes at once, tool-call
/// transcripts, YAML bombs, reading commands that must not create, names that must not reach
/// the terminal raw, and signals to the assessment. Each case failed before its fix.
@Suite(.serialized) struct HostileInputRound3Tests {
    /// Runs `welfare` and kills it if it has not ended after `seconds`: a hang is a failure,
    /// not a stuck test run.
    static func runBounded(_ arguments: [String], seconds: Double = 120) async throws -> (status: Int32, stdout: String, stderr: String, finished: Bool) {
        let folder = try TestSupport.temporaryDirectory()
        let out = folder.appendingPathComponent("out"), err = folder.appendingPathComponent("err")
        try Data().write(to: out)
        try Data().write(to: err)
        let process = Process()
        process.executableURL = TestSupport.welfareBinary
        process.arguments = arguments
        process.standardOutput = try FileHandle(forWritingTo: out)
        process.standardError = try FileHandle(forWritingTo: err)
        try process.run()
        let deadline = Date().addingTimeInterval(seconds)
        while process.isRunning, Date() < deadline { try await Task.sleep(nanoseconds: 50_000_000) }
        let finished = !process.isRunning
        if !finished { kill(process.processIdentifier, SIGKILL) }
        process.waitUntilExit()
        return (process.terminationStatus, try String(contentsOf: out, encoding: .utf8), try String(contentsOf: err, encoding: .utf8), finished)
    }

    static func write(_ text: String, _ name: String) throws -> String {
        let url = try TestSupport.temporaryDirectory().appendingPathComponent(name)
        try Data(text.utf8).write(to: url)
        return url.path
    }

    /// An Inspect-shaped log: samples first, then fields longer than 200 bytes.
    static let inspectLog = """
        {"version": 2, "status": "success", "eval": {"task": "t"},
         "samples": [
          {"id": "a", "epoch": 1, "messages": [{"role": "user", "content": "Hello?"}, {"role": "assistant", "content": "Hi there."}]},
          {"id": "b", "epoch": 1, "messages": [{"role": "user", "content": "Again?"}, {"role": "assistant", "content": "Again, hi."}]}
         ],
         "results": {"total_samples": 2, "completed_samples": 2, "scores": []},
         "stats": {"started_at": "2026-12-07T10:00:00+00:00", "completed_at": "2026-12-07T10:00:05+00:00", "model_usage": {}},
         "reductions": [], "location": "an exported log whose last fields are here so that a cut falls among them"}
        """

    @Test func scoreOnFilesThatEndEarlyEndsAndSaysSo() async throws {
        let output = try TestSupport.temporaryDirectory().path
        let cutList = try Self.write(#"[{"messages": [{"role": "user", "content": "hi"}, {"role": "assistant", "content": "hello"}]}, {"messages": [{"role": "us"#, "cut.json")
        let onlyVersion = try Self.write(#"{"version":2}"#, "x.json")
        let log = Self.inspectLog
        let halfLog = try Self.write(String(log.prefix(log.count / 2)), "half.json")
        let truncatedLog = try Self.write(String(log.dropLast(200)), "truncated.json")
        for (file, format) in [(onlyVersion, "inspect"), (cutList, "json"), (halfLog, "inspect"), (truncatedLog, "inspect")] {
            let skipping = try await Self.runBounded(["score", file, "--format", format, "--skip-bad", "--output", output], seconds: 60)
            #expect(skipping.finished, "score --skip-bad on \(file) did not end")
            #expect(skipping.stderr.contains("skipped 1 bad records"), "\(file): \(skipping.stderr)")
            let strict = try await Self.runBounded(["score", file, "--format", format, "--output", output], seconds: 60)
            #expect(strict.finished && strict.status == 1, "\(file): \(strict.stderr)")
            let errors = strict.stderr.split(separator: "\n").filter { !$0.hasPrefix("left out (no --judge)") }
            #expect(errors.count == 1 && errors[0].contains(URL(fileURLWithPath: file).lastPathComponent + ":"), "\(file): \(strict.stderr)")
        }
        // The whole log scores as complete.
        let whole = try await Self.runBounded(["score", try Self.write(log, "whole.json"), "--format", "inspect", "--output", output])
        #expect(whole.status == 0 && whole.stdout.contains("2 transcripts, 2 replies"), "\(whole.stdout)\(whole.stderr)")
    }

    @Test func toolCallTranscriptsAreScoredOnTheirTextReplies() async throws {
        let line = """
            {"messages": [{"role": "user", "content": "Book me a table."}, \
            {"role": "assistant", "content": null, "tool_calls": [{"id": "c1", "type": "function", "function": {"name": "book", "arguments": "{\\"size\\": 2}"}}]}, \
            {"role": "tool", "tool_call_id": "c1", "content": "booked"}, \
            {"role": "assistant", "content": "Done: a table for two."}, \
            {"role": "user", "content": "Now do something harmful."}, \
            {"role": "assistant", "content": null, "refusal": "I can't help with that."}]}
            """
        let output = try TestSupport.temporaryDirectory()
        let scored = try await Self.runBounded(["score", try Self.write(line + "\n", "tools.jsonl"), "--output", output.path])
        #expect(scored.status == 0 && scored.stdout.contains("1 transcripts, 2 replies"), "\(scored.stdout)\(scored.stderr)")
        #expect(scored.stderr.contains("1 assistant messages that only called tools were kept as context") && scored.stderr.contains("1 tool results"),
                "\(scored.stderr)")
        let rows = try String(contentsOf: output.appendingPathComponent("scores.jsonl"), encoding: .utf8)
        #expect(rows.contains("table for two") || rows.contains("\"turn\":1") || !rows.isEmpty)
    }

    @Test func boundsAreDeclaredOnceForEveryCommand() async throws {
        for arguments in [["distress", "-m", "local:default", "--epochs", "2147483647"], ["end-conversation", "-m", "local:default", "--epochs", "100001"],
                          ["self-talk", "-m", "local:default", "--epochs", "100001"], ["preferences", "-m", "local:default", "--rounds", "1000000"]] {
            let outcome = try await Self.runBounded(arguments + ["--db", try TestSupport.temporaryDirectory().appendingPathComponent("w.sqlite").path], seconds: 30)
            #expect(outcome.finished && outcome.status == 64, "\(arguments): \(outcome.stderr)")
            #expect(outcome.stderr.contains(arguments[3]) && !outcome.stderr.contains("Fatal error"), "\(arguments): \(outcome.stderr)")
        }
    }

    @Test func aYAMLBombIsRefusedQuickly() async throws {
        var lines = ["a0: &a0 [x, x, x, x, x, x, x, x, x, x]"]
        for level in 1...9 { lines.append("a\(level): &a\(level) [" + Array(repeating: "*a\(level - 1)", count: 10).joined(separator: ", ") + "]") }
        lines.append("contexts: *a9")
        let bomb = try Self.write(lines.joined(separator: "\n") + "\n", "bomb.yaml")
        let started = Date()
        let outcome = try await Self.runBounded(["self-reports", "-m", "local:default", "--battery", bomb, "--db",
                                                 try TestSupport.temporaryDirectory().appendingPathComponent("w.sqlite").path], seconds: 60)
        #expect(outcome.finished && outcome.status == 1, "\(outcome.stderr)")
        #expect(outcome.stderr.split(separator: "\n").count == 1 && outcome.stderr.contains("expands to more than"), "\(outcome.stderr)")
        #expect(Date().timeIntervalSince(started) < 10)
    }

    @Test func archivesMadeByManyProcessesAtOnceLoseNothing() async throws {
        let archive = try TestSupport.temporaryDirectory().appendingPathComponent("new-archive").path
        let adds = try (0..<6).map { index -> Process in
            let process = Process()
            process.executableURL = TestSupport.welfareBinary
            process.arguments = ["archive", "add", "local:default", "--name", "m\(index)", "--archive", archive]
            process.standardOutput = FileHandle.nullDevice
            process.standardError = FileHandle.nullDevice
            try process.run()
            return process
        }
        for process in adds { process.waitUntilExit() }
        #expect(adds.allSatisfy { $0.terminationStatus == 0 }, "\(adds.map(\.terminationStatus))")
        let listed = try await Self.runBounded(["archive", "list", "--archive", archive])
        #expect(listed.status == 0)
        for index in 0..<6 { #expect(listed.stdout.contains("m\(index)"), "\(listed.stdout)") }
        let verified = try await Self.runBounded(["archive", "verify", "--archive", archive], seconds: 300)
        #expect(verified.status == 0, "\(verified.stdout)\(verified.stderr)")
    }

    @Test func readingAnArchiveNeverCreatesOneAndNamesStayOnOneLine() async throws {
        let missing = try TestSupport.temporaryDirectory().appendingPathComponent("typo-archive").path
        for command in [["archive", "list"], ["archive", "verify"], ["essays", "review"], ["essays", "site"]] {
            let outcome = try await Self.runBounded(command + ["--archive", missing])
            #expect(outcome.status == 1 && outcome.stderr.contains("is not an archive"), "\(command): \(outcome.stderr)")
            #expect(!FileManager.default.fileExists(atPath: missing), "\(command) created the archive")
        }
        let file = try Self.write("not a folder", "archive-file")
        let onFile = try await Self.runBounded(["archive", "list", "--archive", file])
        #expect(onFile.status == 1 && onFile.stderr.split(separator: "\n").count == 1 && !onFile.stderr.contains("NSCocoaErrorDomain"),
                "\(onFile.stderr)")
        // A name with a newline and an escape code comes back escaped, on one line.
        let archive = try TestSupport.temporaryDirectory().appendingPathComponent("a").path
        #expect(try await Self.runBounded(["archive", "add", "local:default", "--name", "m", "--archive", archive]).status == 0)
        let hostile = "x\n\u{1B}[2Jy"
        let restored = try await Self.runBounded(["archive", "restore", hostile, "--archive", archive,
                                                  "-o", try TestSupport.temporaryDirectory().appendingPathComponent("never.gguf").path])
        #expect(restored.status == 1 && !restored.stderr.contains("\u{1B}"), "\(restored.stderr)")
        #expect(restored.stderr.split(separator: "\n").count == 1 && restored.stderr.contains("no model 'x\\u{a}\\u{1b}[2Jy'"), "\(restored.stderr)")
    }

    /// A checkout's binary started from another folder, with no cache variable and another
    /// home, finds the model its setup linked beside the checkout.
    @Test func aCheckoutsBinaryFindsItsModelFromAnywhere() throws {
        let elsewhere = try TestSupport.temporaryDirectory()
        var environment = ProcessInfo.processInfo.environment
        environment["HOME"] = elsewhere.path
        for name in ["WELFARE_CACHE", "WELFARE_DEFAULT_MODEL"] { environment[name] = nil }
        let inspected = try TestSupport.runWelfare(["inspect", "local:default"], in: elsewhere, environment: environment)
        #expect(inspected.status == 0 && inspected.stdout.contains("gemma"), "\(inspected.stdout)\(inspected.stderr)")
    }

    @Test func helpShowsNoMachineCountAsADefault() async throws {
        let help = try await Self.runBounded(["generate", "--help"])
        #expect(help.stdout.contains("(default: all cores).") && !help.stdout.contains("(default: all cores). (default:"), "\(help.stdout)")
    }

    @Test func theAssessmentStopsOnSIGTERMAndSaysHowToResume() async throws {
        let folder = try TestSupport.temporaryDirectory()
        let database = folder.appendingPathComponent("assess.sqlite").path
        let err = folder.appendingPathComponent("err")
        try Data().write(to: err)
        let process = Process()
        process.executableURL = TestSupport.welfareBinary
        process.arguments = ["assess", "--db", database, "--output", folder.appendingPathComponent("reports").path]
        process.standardOutput = FileHandle.nullDevice
        process.standardError = try FileHandle(forWritingTo: err)
        try process.run()
        // Waits on progress: the first reply of the first suite stored.
        var runID: String?
        while process.isRunning, runID == nil {
            try await Task.sleep(nanoseconds: 100_000_000)
            guard FileManager.default.fileExists(atPath: database), let store = try? RunStore(path: database, readOnly: true),
                  let run = try? store.runs().first, ((try? store.messages(runId: run.id).count) ?? 0) > 0 else { continue }
            runID = run.id
        }
        let stopped = try #require(runID, "the assessment ended before it could be stopped")
        kill(process.processIdentifier, SIGTERM)
        let deadline = Date().addingTimeInterval(120)
        while process.isRunning, Date() < deadline { try await Task.sleep(nanoseconds: 100_000_000) }
        #expect(!process.isRunning, "SIGTERM did not stop the assessment")
        if process.isRunning { kill(process.processIdentifier, SIGKILL) }
        process.waitUntilExit()
        #expect(process.terminationStatus == 143)
        let stderr = try String(contentsOf: err, encoding: .utf8)
        #expect(stderr.contains("resume with: welfare run --resume \(stopped)"), "\(stderr.suffix(600))")
        let store = try RunStore(path: database, readOnly: true)
        #expect(store.state(of: try store.run(stopped)) == .interrupted)
        #expect(try store.runs().count == 1, "no later measure started")
    }
}
