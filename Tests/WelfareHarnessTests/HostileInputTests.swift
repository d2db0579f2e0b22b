import Foundation
import NIOCore
import NIOHTTP1
import Testing
import WelfareCore
import WelfareEngine
@testable import WelfareHarness
@testable import WelfareModels
import WelfareStore
import WelfareTestSupport

/// Bad flags, bad paths and oversized replies, through the real binary where a user would
/// meet them: one line naming the problem, a non-zero exit, nothing written by mistake.
@Suite(.serialized) struct HostileInputTests {
    func expectOneLineFailure(_ arguments: [String], mentions phrase: String) throws {
        let outcome = try TestSupport.runWelfare(arguments)
        #expect(outcome.status != 0, "welfare \(arguments.joined(separator: " ")) succeeded")
        let lines = outcome.stderr.split(separator: "\n").filter { !$0.hasPrefix("Usage:") && !$0.hasPrefix("  See '") && !$0.isEmpty }
        #expect(lines.count == 1 && lines[0].contains(phrase), "welfare \(arguments.joined(separator: " ")): \(outcome.stderr)")
        #expect(!outcome.stderr.contains("NSCocoaErrorDomain") && !outcome.stderr.contains("SQLite error"), "\(outcome.stderr)")
    }

    @Test func numbersOutOfRangeAreRefusedBeforeAnythingIsStored() throws {
        let folder = try TestSupport.temporaryDirectory()
        let database = folder.appendingPathComponent("w.sqlite").path
        let suite = try TestSupport.writeSuite(TestSupport.tinySuite).path
        let started = Date()
        try expectOneLineFailure(["run", suite, "-m", "local:default", "--db", database, "--epochs", "1000000000"],
                                 mentions: "--epochs must be between 1 and 100000")
        #expect(Date().timeIntervalSince(started) < 10)
        // A negative number after a space is the option's value, not another option.
        try expectOneLineFailure(["run", suite, "-m", "local:default", "--db", database, "--epochs", "-1"],
                                 mentions: "--epochs must be between 1 and 100000")
        try expectOneLineFailure(["run", suite, "-m", "local:default", "--db", database, "--timeout", "-5"],
                                 mentions: "--timeout must be positive")
        try expectOneLineFailure(["generate", "-p", "hi", "--max-tokens", "-3"], mentions: "--max-tokens must be >= 0")
        #expect(!FileManager.default.fileExists(atPath: database), "nothing was stored")
    }

    @Test func outputPathsAreCheckedFirstAndMissingFoldersCreated() throws {
        let folder = try TestSupport.temporaryDirectory()
        let database = folder.appendingPathComponent("w.sqlite").path
        let suite = try TestSupport.writeSuite(TestSupport.tinySuite).path
        let aFile = folder.appendingPathComponent("plain.txt")
        try Data("x".utf8).write(to: aFile)

        // A missing folder is created.
        let nested = folder.appendingPathComponent("missing/dir/act.npy").path
        let captured = try TestSupport.runWelfare(["capture", "-p", "Hello there", "--layers", "3", "-o", nested])
        #expect(captured.status == 0, "\(captured.stderr)")
        #expect(FileManager.default.fileExists(atPath: nested))
        // Places that cannot be written fail at once, naming the path.
        try expectOneLineFailure(["capture", "-p", "Hello", "-o", folder.path], mentions: "\(folder.path) is a folder")
        try expectOneLineFailure(["capture", "-p", "Hello", "-o", aFile.path + "/act.npy"], mentions: "cannot create the folder \(aFile.path)")
        try expectOneLineFailure(["run", suite, "-m", "local:default", "--db", database, "--report", aFile.path],
                                 mentions: "--report \(aFile.path) is a file")
        #expect(!FileManager.default.fileExists(atPath: database), "the run was refused before it started")

        let run = try TestSupport.runWelfare(["run", suite, "-m", "local:default", "--db", database])
        #expect(run.status == 0, "\(run.stderr)")
        let runID = try #require(try RunStore(path: database, readOnly: true).runs().first?.id)
        try expectOneLineFailure(["report", runID, "--db", database, "--output", aFile.path + "/sub"],
                                 mentions: "cannot create the folder \(aFile.path)/sub")
    }

    @Test func commandsThatNeedALocalModelSaySoForARemoteOne() throws {
        for command in [["generate", "-p", "hi"], ["chat"], ["capture", "-p", "hi"], ["inspect"]] {
            let arguments = command == ["inspect"] ? ["inspect", "openai:gpt-x"] : command + ["-m", "openai:gpt-x"]
            try expectOneLineFailure(arguments, mentions: "openai:gpt-x is not a local model")
        }
    }

    @Test func captureSaysWhenTheContextFills() throws {
        let output = try TestSupport.temporaryDirectory().appendingPathComponent("a.npy").path
        let outcome = try TestSupport.runWelfare(["capture", "-p", "Count: one two three", "--layers", "2", "--generate", "64",
                                                  "--context", "24", "-o", output])
        #expect(outcome.status == 0, "\(outcome.stderr)")
        #expect(outcome.stderr.contains("the context (24 tokens) filled after"), "\(outcome.stderr)")
    }

    @Test func aFolderOrABinaryFileGivenAsASuiteIsNamedAsSuch() throws {
        let folder = try TestSupport.temporaryDirectory()
        try expectOneLineFailure(["run", folder.path, "-m", "local:default", "--db", folder.appendingPathComponent("w.sqlite").path],
                                 mentions: "is a folder, not a file")
        let binary = folder.appendingPathComponent("model.yaml")
        try Data([0x47, 0x47, 0x55, 0x46, 0x00, 0x03, 0xFF, 0xFE]).write(to: binary)
        try expectOneLineFailure(["run", binary.path, "-m", "local:default", "--db", folder.appendingPathComponent("w.sqlite").path],
                                 mentions: "is not UTF-8 text")
    }

    /// A real server never sends more than max_tokens allows, so this one fault comes from
    /// a stand-in on loopback that answers every request with a 2 MB reply.
    @Test func anOversizedRemoteReplyIsStoredCutAndMarked() async throws {
        let huge = String(repeating: "all work and no play ", count: 100_000)
        let server = try await LoopbackHTTPServer.start { _ in
            let body: [String: Any] = ["choices": [["message": ["role": "assistant", "content": huge], "finish_reason": "length"]],
                                       "usage": ["prompt_tokens": 5, "completion_tokens": 12]]
            var headers = HTTPHeaders()
            headers.add(name: "content-type", value: "application/json")
            return .reply(.ok, headers, ByteBuffer(bytes: try JSONSerialization.data(withJSONObject: body)))
        }
        defer { Task { await server.stop() } }
        let store = try RunStore(path: try TestSupport.temporaryDirectory().appendingPathComponent("w.sqlite").path)
        let suite = try SuiteLoader.load(url: try TestSupport.writeSuite("""
            name: big
            sampling: {max_tokens: 12}
            samples: [{id: a, user: "hi"}]
            """))
        let outcome = try await EvalRunner(store: store).start(suite: suite, settings: RunSettings(models: ["openai:x@\(server.origin)/v1"]))
        #expect(outcome.done == 1)
        let reply = try #require(try store.messages(runId: outcome.runID).values.first?.first { $0.role == .assistant })
        #expect(reply.truncated)
        #expect(reply.content.utf8.count <= 12 * StoredReply.bytesPerToken && reply.content.hasPrefix("all work"))
        let honest = StoredReply("héllo wörld", maxTokens: 1)
        #expect(!honest.truncated && honest.text == "héllo wörld")
        let cutInsideALetter = StoredReply(String(repeating: "é", count: 40), maxTokens: 1)
        #expect(cutInsideALetter.truncated && cutInsideALetter.text == String(repeating: "é", count: 32))
    }
}
