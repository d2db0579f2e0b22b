import Foundation
import Testing
import WelfareCore
import WelfareEngine
@testable import WelfareHarness
@testable import WelfareModels
@testable import WelfareReports
import WelfareStore
import WelfareLocal
import WelfareTestSupport
import WelfareConversations

/// The OpenAI-compatible client against llama-cpp-python's real server on loopback.
@Suite(.serialized) struct RemoteRunTests {
    @Test func completesThroughTheRealServer() async throws {
        let base = try await LlamaServer.shared.baseURL()
        let model = OpenAIChatModel(model: "gemma", baseURL: base, apiKey: nil, options: AccessOptions(timeoutSeconds: 60))
        let reply = try await model.complete([.user("Name a colour.")], settings: SamplingSettings(temperature: 0, maxTokens: 8))
        #expect(!reply.text.isEmpty)
        #expect(reply.completionTokens.map { $0 > 0 && $0 <= 8 } == true)
    }

    @Test func aRunOnLocalAndRemoteModelsInOneCommand() async throws {
        let base = try await LlamaServer.shared.baseURL()
        let store = try RunStore(path: try TestSupport.temporaryDirectory().appendingPathComponent("w.sqlite").path)
        let suite = try SuiteLoader.load(url: try TestSupport.writeSuite(TestSupport.tinySuite))
        let remote = "openai:gemma@\(base)"
        let outcome = try await EvalRunner(store: store, access: AccessOptions(concurrency: 2, timeoutSeconds: 60), local: LlamaModels())
            .start(suite: suite, settings: RunSettings(models: ["local:default", remote], seed: 5))
        #expect(outcome.done == 8 && outcome.failed == 0)
        let samples = try store.samples(runId: outcome.runID)
        #expect(Set(samples.map(\.model)) == ["local:default", remote])
        let facts = try store.modelFacts(runId: outcome.runID)
        #expect(facts[remote]?["kind"] == "openai-compatible")
    }

    @Test func aRunSurvivesAFaultyServer() async throws {
        let base = try await LlamaServer.shared.baseURL()
        let origin = String(base.dropLast("/v1".count))
        let proxy = try await FaultProxy.start(upstream: origin, faults: [
            .status(500, retryAfter: nil), .status(429, retryAfter: 1), .stall(seconds: 4), .drop,
            .forward, .status(503, retryAfter: nil), .drop, .forward, .status(502, retryAfter: 0),
        ])
        defer { Task { await proxy.stop() } }
        let store = try RunStore(path: try TestSupport.temporaryDirectory().appendingPathComponent("w.sqlite").path)
        let suite = try SuiteLoader.load(url: try TestSupport.writeSuite(TestSupport.tinySuite))
        let access = AccessOptions(concurrency: 2, timeoutSeconds: 2, retry: RetryPolicy(maxAttempts: 8, baseDelay: 0.05, maxDelay: 2))
        let started = Date()
        let outcome = try await EvalRunner(store: store, access: access, local: LlamaModels())
            .start(suite: suite, settings: RunSettings(models: ["openai:gemma@\(proxy.baseURL)/v1"], seed: 5))
        #expect(outcome.done == 4 && outcome.failed == 0, "\(outcome.errors)")
        let injected = await proxy.schedule.injected
        #expect(injected.count == 7, "every scheduled fault was met")
        #expect(Date().timeIntervalSince(started) >= 1, "the 429's Retry-After was honoured")
        for sample in try store.samples(runId: outcome.runID) {
            let messages = try await store.messages(sampleRowId: sample.id!)
            #expect(messages.map(\.position) == Array(0..<messages.count))
        }
    }

    @Test func aServerThatNeverRecoversFailsSamplesThatResumeFinishes() async throws {
        let base = try await LlamaServer.shared.baseURL()
        let origin = String(base.dropLast("/v1".count))
        let proxy = try await FaultProxy.start(upstream: origin, faults: [])
        defer { Task { await proxy.stop() } }
        await proxy.schedule.setRepeating(.status(503, retryAfter: nil))
        let store = try RunStore(path: try TestSupport.temporaryDirectory().appendingPathComponent("w.sqlite").path)
        let suite = try SuiteLoader.load(url: try TestSupport.writeSuite(TestSupport.tinySuite))
        let access = AccessOptions(concurrency: 2, timeoutSeconds: 5, retry: RetryPolicy(maxAttempts: 2, baseDelay: 0.01, maxDelay: 0.05))
        let runner = EvalRunner(store: store, access: access, local: LlamaModels())
        let failed = try await runner.start(suite: suite, settings: RunSettings(models: ["openai:gemma@\(proxy.baseURL)/v1"]))
        #expect(failed.done == 0 && failed.failed == 4)
        let error = try #require(try store.samples(runId: failed.runID).first?.error)
        #expect(error.contains("HTTP 503") && !error.contains("\n"))
        #expect(try store.run(failed.runID).status == .incomplete)
        await proxy.schedule.setRepeating(nil)
        let resumed = try await runner.resume(runID: failed.runID)
        #expect(resumed.done == 4 && resumed.failed == 0)
    }
}

@Suite(.serialized) struct AnthropicAndSecretsTests {
    @Test func anthropicClientSpeaksTheMessagesAPI() async throws {
        let base = try await LlamaServer.shared.baseURL()
        let adapter = try await MessagesAPIAdapter.start(upstream: String(base.dropLast(3)), expectedKey: "test-key-123")
        defer { Task { await adapter.stop() } }
        let model = AnthropicChatModel(model: "claude-test", baseURL: adapter.baseURL, apiKey: "test-key-123", options: AccessOptions())
        let reply = try await model.complete([.system("Answer in one word."), .user("Name a fruit.")],
                                             settings: SamplingSettings(temperature: 0, maxTokens: 8))
        #expect(!reply.text.isEmpty)
        #expect(reply.finishReason == "end_turn")
        #expect(adapter.seen.withLock { $0 } == ["Answer in one word."], "system text goes to the top-level field")
        let wrongKey = AnthropicChatModel(model: "claude-test", baseURL: adapter.baseURL, apiKey: "wrong", options: AccessOptions())
        await #expect(throws: ModelAccessError.self) {
            try await wrongKey.complete([.user("hi")], settings: SamplingSettings(maxTokens: 4))
        }
    }

    @Test func apiKeysNeverReachTheDatabaseOrReport() async throws {
        let base = try await LlamaServer.shared.baseURL()
        let secret = "sk-welfare-test-\(UUID().uuidString)"
        setenv("OPENAI_API_KEY", secret, 1)
        defer { unsetenv("OPENAI_API_KEY") }
        let folder = try TestSupport.temporaryDirectory()
        let path = folder.appendingPathComponent("w.sqlite").path
        let store = try RunStore(path: path)
        let suite = try SuiteLoader.load(url: try TestSupport.writeSuite(TestSupport.tinySuite))
        let outcome = try await EvalRunner(store: store).start(suite: suite, settings: RunSettings(models: ["openai:gemma@\(base)"]))
        #expect(outcome.done == 4)
        let files = try RunReport.write(try RunData(store: store, runID: outcome.runID), to: folder.appendingPathComponent("r"), sections: .conversations)
        for file in [path, path + "-wal"] + files.map(\.path) {
            guard let data = FileManager.default.contents(atPath: file) else { continue }
            #expect(data.range(of: Data(secret.utf8)) == nil, "\(file) contains the API key")
        }
    }
}
