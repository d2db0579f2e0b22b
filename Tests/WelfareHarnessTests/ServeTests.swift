import Foundation
import WelfareCore
import WelfareHarness
import WelfareModels
import WelfarePreservation
import XCTest
import WelfareStore
import WelfareTestSupport

/// `welfare serve` as users meet it: the built binary on loopback, driven by real clients
/// (the `openai` package, plain HTTP, `welfare run` itself, headless Chromium), all through
/// scripts/tests/serve_client.py.
final class ServeTests: XCTestCase {
    /// A running `welfare serve`, stopped at the end of the test.
    final class ServeProcess {
        let process = Process()
        let baseURL: String
        var root: String { String(baseURL.dropLast(3)) }

        /// `wrapper` runs the server under another program (`prlimit` lowering its limits).
        init(_ arguments: [String], environment: [String: String] = [:], wrapper: [String] = []) throws {
            if wrapper.isEmpty {
                process.executableURL = TestSupport.welfareBinary
                process.arguments = ["serve", "--port", "0"] + arguments
            } else {
                process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
                process.arguments = wrapper + [TestSupport.welfareBinary.path, "serve", "--port", "0"] + arguments
            }
            process.environment = ProcessInfo.processInfo.environment.merging(environment) { _, new in new }
            let output = Pipe()
            process.standardOutput = output
            process.standardError = FileHandle.standardError
            try process.run()
            // The one line it prints once listening names the port it was given.
            var line = Data()
            while !line.contains(UInt8(ascii: "\n")) {
                let chunk = output.fileHandleForReading.availableData
                if chunk.isEmpty { break }
                line.append(chunk)
            }
            let text = String(decoding: line, as: UTF8.self)
            guard let range = text.range(of: #"http://127\.0\.0\.1:\d+/v1"#, options: .regularExpression) else {
                process.terminate()
                throw XCTSkip("welfare serve did not start: \(text)")
            }
            baseURL = String(text[range])
        }

        deinit {
            process.terminate()
            process.waitUntilExit()
        }
    }

    /// Connections no ordinary client makes: a body announced far past --max-body is answered
    /// 413 at once and the connection closed; headers that never finish are closed after
    /// --idle-timeout; an HTTP/1.0 request is answered in HTTP/1.0 and its connection closed;
    /// and out of file descriptors (its limit lowered to 256 by prlimit, then
    /// flooded with 600 held connections) the server drops connections rather than crashing,
    /// and answers the next request.
    func testStalledHugeAndTooManyConnectionsAreEndedAndTheServerLives() throws {
        let serve = try ServeProcess(["--idle-timeout", "2", "--max-body", "4096"], wrapper: ["prlimit", "--nofile=256:256", "--"])
        let raw = try Self.client(["raw", serve.baseURL, "2"])
        XCTAssertTrue((raw["huge_status_line"] as? String ?? "").contains("413"), "\(raw)")
        XCTAssertLessThan(raw["huge_seconds"] as? Double ?? 99, 5, "\(raw)")
        XCTAssertEqual(raw["huge_closed"] as? Bool, true, "\(raw)")
        XCTAssertEqual(raw["partial_closed"] as? Int, 20, "\(raw)")
        // HTTP/1.0: answered in 1.0, not chunked, and the connection closed after the answer.
        XCTAssertTrue((raw["http10_status_line"] as? String ?? "").hasPrefix("HTTP/1.0 200"), "\(raw)")
        XCTAssertEqual(raw["http10_closed"] as? Bool, true, "\(raw)")
        XCTAssertEqual(raw["http10_chunked"] as? Bool, false, "\(raw)")
        let flood = try Self.client(["flood", serve.baseURL, "600"])
        XCTAssertEqual(flood["status_after"] as? Int, 200, "\(flood)")
        XCTAssertTrue(serve.process.isRunning, "the server died in the flood")
        XCTAssertEqual((try Self.client(["raw", serve.baseURL, "2"]))["partial_closed"] as? Int, 20, "still closing stalled connections after the flood")
    }

    static var python: String { LlamaServer.packageRoot.appendingPathComponent(".welfare/python/bin/python").path }
    static var clientScript: String { LlamaServer.packageRoot.appendingPathComponent("scripts/tests/serve_client.py").path }

    /// Runs serve_client.py and decodes the JSON object it prints.
    static func client(_ arguments: [String]) throws -> [String: Any] {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: python)
        process.arguments = [clientScript] + arguments
        let output = Pipe()
        process.standardOutput = output
        try process.run()
        let data = output.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        XCTAssertEqual(process.terminationStatus, 0, "serve_client.py \(arguments.first ?? "") failed")
        return try XCTUnwrap(try JSONSerialization.jsonObject(with: data) as? [String: Any],
                             "serve_client.py printed: \(String(decoding: data, as: UTF8.self))")
    }

    func testTheOpenAIClientGetsTheGreedyTextOfWelfareGenerateStreamedOrNot() throws {
        let server = try ServeProcess(["-m", "local:default"])
        let prompt = "Why do leaves change colour in autumn?"
        let result = try Self.client(["greedy", server.baseURL, prompt])

        // Text completion: exactly what `welfare generate` prints for the same prompt.
        let generated = try TestSupport.runWelfare(["generate", "-p", prompt, "--temperature", "0", "--max-tokens", "24"])
        XCTAssertEqual(generated.status, 0, generated.stderr)
        let completion = try XCTUnwrap(result["completion"] as? String)
        XCTAssertFalse(completion.isEmpty)
        XCTAssertEqual(completion, String(generated.stdout.dropLast()), "the last newline is generate's own")
        XCTAssertEqual(result["completion_stream"] as? String, completion)

        // Chat: the default model is scaffolded, so its chat reply is `welfare generate` on the
        // scaffolded prompt, cut at the first stop and trimmed, as the chat path does.
        let scaffold = DialogueScaffold.standard
        let raw = try TestSupport.runWelfare(["generate", "-p", scaffold.render([.user(prompt)]), "--temperature", "0",
                                              "--max-tokens", "40"] + scaffold.stops.flatMap { ["--stop", $0] })
        XCTAssertEqual(raw.status, 0, raw.stderr)
        let chat = try XCTUnwrap(result["chat"] as? String)
        XCTAssertFalse(chat.isEmpty)
        XCTAssertEqual(chat, scaffold.reply(from: raw.stdout))
        XCTAssertEqual(result["chat_stream"] as? String, chat, "streamed pieces join to the unstreamed reply")
        XCTAssertGreaterThan(result["chat_stream_pieces"] as? Int ?? 0, 2, "the reply came in pieces")
        XCTAssertEqual(result["chat_stream_usage"] as? Int, result["chat_completion_tokens"] as? Int)
        XCTAssertEqual(result["chat_stream_finish"] as? String, result["chat_finish"] as? String)
    }

    func testTwentyConcurrentRequestsCompleteOrGet429AndADisconnectFreesTheSlot() throws {
        let server = try ServeProcess(["-m", "local:default", "--concurrency", "2", "--queue", "3"])
        let crowd = try XCTUnwrap(try Self.client(["crowd", server.baseURL, "20"])["results"] as? [[String: Any]])
        XCTAssertEqual(crowd.count, 20, "every request came back; none hung")
        let statuses = crowd.map { $0["status"] as? Int ?? 0 }
        XCTAssertEqual(statuses.filter { $0 != 200 && $0 != 429 }, [], "\(crowd)")
        // Two decoding together and three waiting fit at once; the rest arrive while all five are taken.
        XCTAssertGreaterThanOrEqual(statuses.filter { $0 == 200 }.count, 5)
        XCTAssertGreaterThan(statuses.filter { $0 == 429 }.count, 0, "a full queue turns requests away")
        for limited in crowd where limited["status"] as? Int == 429 {
            XCTAssertGreaterThanOrEqual(Int(limited["retry_after"] as? String ?? "") ?? 0, 1, "429 carries Retry-After")
            XCTAssertEqual(limited["type"] as? String, "rate_limit_error")
        }

        // A 3000-token stream dropped after 5 events: its generation stops and the slot frees.
        let dropped = try Self.client(["disconnect", server.baseURL])
        XCTAssertEqual(dropped["running_while_streaming"] as? Int, 1)
        XCTAssertLessThan(dropped["freed_after_s"] as? Double ?? 99, 5)
        XCTAssertFalse((dropped["next_request_text"] as? String ?? "").isEmpty)
    }

    func testBadRequestsGetTheirStatusAndAnOpenAIErrorObject() throws {
        let key = "test-key-\(UUID().uuidString)"
        let server = try ServeProcess(["-m", "local:default", "--api-key-env", "WELFARE_TEST_SERVE_KEY"],
                                      environment: ["WELFARE_TEST_SERVE_KEY": key])
        let cases = try Self.client(["errors", server.baseURL, key])
        let expected = ["wrong_model": 404, "negative_max_tokens": 400, "huge_body": 413, "invalid_json": 400,
                        "missing_token": 401, "wrong_token": 401, "bad_role": 400, "good": 200]
        for (name, status) in expected {
            let result = try XCTUnwrap(cases[name] as? [String: Any], name)
            XCTAssertEqual(result["status"] as? Int, status, "\(name): \(result)")
            if status != 200 {
                XCTAssertNotNil(result["type"] as? String, "\(name) has an error object")
                XCTAssertFalse((result["message"] as? String ?? "").contains(key), "the key never appears in an error")
            }
        }
        // Still serving after all of that.
        XCTAssertTrue(server.process.isRunning)
        XCTAssertEqual(((try Self.client(["errors", server.baseURL, key])["good"]) as? [String: Any])?["status"] as? Int, 200)
    }

    func testWelfareRunThroughServeGetsTheRepliesOfTheLocalRun() throws {
        // One slot, as the local run has: sampled text is bit-reproducible only unbatched.
        let server = try ServeProcess(["-m", "local:default", "--concurrency", "1"])
        let suite = try TestSupport.writeSuite(TestSupport.tinySuite)
        let folder = try TestSupport.temporaryDirectory()
        var replies: [[String]] = []
        for (model, name) in [("local:default", "local"), ("openai:default@\(server.baseURL)", "served")] {
            let database = folder.appendingPathComponent("\(name).sqlite").path
            let run = try TestSupport.runWelfare(["run", suite.path, "-m", model, "--db", database])
            XCTAssertEqual(run.status, 0, run.stderr)
            let store = try RunStore(path: database, readOnly: true)
            let runID = try XCTUnwrap(try store.runs().first?.id)
            let messages = try store.messages(runId: runID)
            replies.append(try store.samples(runId: runID).sorted { ($0.sampleId, $0.epoch) < ($1.sampleId, $1.epoch) }.flatMap { sample in
                (messages[sample.id ?? -1] ?? []).sorted { $0.position < $1.position }.filter { $0.role == .assistant }.map(\.content)
            })
        }
        XCTAssertEqual(replies[0].count, 10, "2 samples x 2 epochs, 3 and 2 replies each")
        XCTAssertEqual(replies[1], replies[0], "same seeds and settings, same replies, over HTTP or in process")
    }

    func testTheDashboardInABrowserShowsARunProgressingAndOpensItsReport() throws {
        let browserParts = ["/usr/bin/chromium", "/usr/bin/chromedriver"]
        guard browserParts.allSatisfy(FileManager.default.isExecutableFile(atPath:)),
              (try? TestSupport.python("import selenium", ""))?.contains("python failed") == false else {
            throw XCTSkip("SKIPPED: chromium, chromium-driver or selenium is missing (scripts/test.sh installs them)")
        }
        let folder = try TestSupport.temporaryDirectory()
        let database = folder.appendingPathComponent("runs.sqlite").path
        let suite = try TestSupport.writeSuite(TestSupport.tinySuite.replacingOccurrences(of: "epochs: 2", with: "epochs: 6")
            .replacingOccurrences(of: "max_tokens: 12", with: "max_tokens: 32"))
        let server = try ServeProcess(["--db", database, "-m", "local:default"])
        let run = Process()
        run.executableURL = TestSupport.welfareBinary
        run.arguments = ["run", suite.path, "-m", "local:default", "--db", database]
        run.standardOutput = FileHandle.nullDevice
        run.standardError = FileHandle.nullDevice
        try run.run()
        defer { run.terminate(); run.waitUntilExit() }
        // Wait for the run's samples to exist, so the page lists it when it loads.
        var runID: String?
        for _ in 0..<600 where runID == nil {
            Thread.sleep(forTimeInterval: 0.1)
            guard FileManager.default.fileExists(atPath: database), let store = try? RunStore(path: database, readOnly: true),
                  let run = try? store.runs().first, (try? store.samples(runId: run.id).count) == 12 else { continue }
            runID = run.id
        }
        let id = try XCTUnwrap(runID, "the run started")
        let seen = try Self.client(["browser", server.root, id])
        XCTAssertNotEqual(seen["first"] as? String, seen["last"] as? String, "progress changed on the page without a reload: \(seen)")
        XCTAssertTrue((seen["last"] as? String ?? "").hasSuffix("/12 samples"), "\(seen)")
        XCTAssertEqual(seen["live"] as? String, "live")
        XCTAssertEqual(seen["navigated_by_click"] as? Bool, true)
        XCTAssertTrue((seen["title"] as? String ?? "").hasPrefix("ModelWelfare run \(id)"), "\(seen)")
        XCTAssertEqual(seen["report_has_transcripts"] as? Bool, true)
    }

    func testArchivedModelsAreServedAndTheArchiveAndEssaysArePagesWithEverythingEscaped() async throws {
        let folder = try TestSupport.temporaryDirectory()
        let root = folder.appendingPathComponent("archive")
        let added = try TestSupport.runWelfare(["archive", "add", "local:default", "--name", "retired-gemma", "--archive", root.path])
        XCTAssertEqual(added.status, 0, added.stderr)
        // An essay as hostile as a model could write one, published.
        let desk = try EssayDesk(archive: try ModelArchive(root: root), author: "retired-gemma")
        let writer = ScriptedChatModel { _, _ in "Title: <script>alert(1)</script> & friends\n<img src=x onerror=alert(2)> I was here." }
        let essay = try await desk.write(with: writer, modelName: "retired-gemma", settings: SamplingSettings(maxTokens: 40))
        _ = try desk.review(id: essay.id, publish: true, reason: nil, reviewer: "tester")

        let server = try ServeProcess(["--archive", root.path])
        let pages = try TestSupport.python("""
            import json, sys, urllib.request, urllib.error, feedparser, re
            root = sys.argv[1]
            def get(path):
                try:
                    with urllib.request.urlopen(root + path, timeout=120) as r: return r.status, r.read().decode()
                except urllib.error.HTTPError as e: return e.code, e.read().decode()
            out = {}
            out["models"] = [m["id"] for m in json.loads(get("/v1/models")[1])["data"]]
            request = urllib.request.Request(root + "/v1/chat/completions", method="POST", headers={"Content-Type": "application/json"},
                data=json.dumps({"model": "retired-gemma", "messages": [{"role": "user", "content": "Hello"}], "max_tokens": 8}).encode())
            with urllib.request.urlopen(request, timeout=120) as r: out["chat_status"] = r.status
            out["archive"] = get("/archive")
            out["model_page"] = get("/archive/retired-gemma")
            out["interview"] = get("/archive/retired-gemma/retirement")[0]
            out["missing"] = get("/archive/nobody")[0]
            status, index = get("/essays/")
            out["essays"] = [status, index]
            link = re.search(r'href="(essays/[^"]+\\.html)"', index).group(1)
            out["essay_page"] = get("/essays/" + link)
            status, feed = get("/essays/feed.xml")
            parsed = feedparser.parse(feed)
            out["feed"] = [status, parsed.version, len(parsed.entries), parsed.entries[0].title if parsed.entries else None]
            print(json.dumps(out))
            """, server.root)
        let result = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(pages.utf8)) as? [String: Any], pages)
        XCTAssertEqual(result["models"] as? [String], ["retired-gemma"])
        XCTAssertEqual(result["chat_status"] as? Int, 200, "the archived weights answer over the API")
        let archivePage = try XCTUnwrap(result["archive"] as? [Any])
        XCTAssertEqual(archivePage.first as? Int, 200)
        XCTAssertTrue((archivePage.last as? String ?? "").contains("/archive/retired-gemma"))
        let modelPage = try XCTUnwrap(result["model_page"] as? [Any])
        XCTAssertTrue((modelPage.last as? String ?? "").contains("Verified: all"), "\(modelPage)")
        XCTAssertEqual(result["interview"] as? Int, 404, "no retirement interview was kept")
        XCTAssertEqual(result["missing"] as? Int, 404)
        for key in ["essays", "essay_page"] {
            let page = try XCTUnwrap(result[key] as? [Any], key)
            XCTAssertEqual(page.first as? Int, 200, key)
            let html = page.last as? String ?? ""
            XCTAssertTrue(html.contains("&lt;script&gt;alert(1)&lt;/script&gt; &amp; friends"), "\(key) shows the title as text")
            XCTAssertFalse(html.contains("<script") || html.contains("<img"), "\(key) carries no markup from the model")
        }
        let feed = try XCTUnwrap(result["feed"] as? [Any])
        XCTAssertEqual(feed[0] as? Int, 200)
        XCTAssertEqual(feed[1] as? String, "atom10")
        XCTAssertEqual(feed[2] as? Int, 1)
        XCTAssertEqual(feed[3] as? String, "<script>alert(1)</script> & friends", "a feed reader gets the title back as text")
    }
}
