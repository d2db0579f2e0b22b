import Foundation
import Hummingbird
import HummingbirdTesting
import Testing
import WelfareCore
import WelfareHarness
import WelfareModels
import WelfareReports
import WelfareServer
import WelfareStore
import WelfareTestSupport

/// The server's routes in memory (Hummingbird's router test tier): the dashboard over a real
/// SQLite store, and the API's answers that come before any model is loaded (auth, unknown
/// models, bad bodies, the model list). The same routes over a real socket, with real clients
/// and the real model, are in ServeTests.
@Suite struct RouteTests {
    /// A store with one finished suite run whose reply is hostile markup.
    static func storeWithARun() async throws -> (location: StoreLocation, runID: String) {
        let path = try TestSupport.temporaryDirectory().appendingPathComponent("runs.sqlite").path
        let store = try RunStore(path: path)
        let suite = try SuiteLoader.load(url: try TestSupport.writeSuite(ScriptedRuns.suiteYAML), registry: {
            var registry = ScorerRegistry.standard
            registry.register(ScriptedRuns.LengthScorer.kind)
            return registry
        }())
        var registry = ScorerRegistry.standard
        registry.register(ScriptedRuns.LengthScorer.kind)
        let hostile = ScriptedChatModel(id: "m") { _, _ in "<script>alert('x')</script>" }
        let outcome = try await EvalRunner(store: store, models: ModelPool(models: [hostile]), registry: registry)
            .start(suite: suite, settings: RunSettings(models: ["m"], seed: 1))
        return (.sqlite(path: path), outcome.runID)
    }

    static func server(database: StoreLocation?, apiKey: String? = nil) throws -> WelfareServer {
        // The default model's file is named, not loaded: nothing here decodes a token.
        let served = try ServedModel.parse("local:default")
        return WelfareServer(shelf: try ModelShelf(models: [served], access: AccessOptions(), queueLimit: 2),
                             limits: ServerLimits(apiKey: apiKey),
                             dashboard: try Dashboard(database: database, archiveRoot: nil, kinds: RunKindRegistry([SuiteRunKind()])))
    }

    @Test func theDashboardListsRunsAndShowsTheirPagesEscaped() async throws {
        let (location, runID) = try await Self.storeWithARun()
        let app = Application(router: try Self.server(database: location).router())
        try await app.test(.router) { client in
            try await client.execute(uri: "/", method: .get) { response in
                #expect(response.status == .ok)
                let page = String(buffer: response.body)
                #expect(page.contains(runID) && page.contains("4/4 samples"))
            }
            try await client.execute(uri: "/runs/\(runID)", method: .get) { response in
                #expect(response.status == .ok)
                let page = String(buffer: response.body)
                #expect(page.contains("&lt;script&gt;") && !page.contains("<script>alert"))
            }
            try await client.execute(uri: "/runs/no-such-run", method: .get) { response in
                #expect(response.status == .notFound)
            }
            try await client.execute(uri: "/status", method: .get) { response in
                #expect(response.status == .ok && String(buffer: response.body).contains("default"))
            }
        }
    }

    @Test func aRunOfAKindTheServerDoesNotKnowIsOneLineNotACrash() async throws {
        let (location, runID) = try await Self.storeWithARun()
        let dashboard = try Dashboard(database: location, archiveRoot: nil, kinds: RunKindRegistry([]))
        #expect(throws: RunKindError.self) { try dashboard.reportPage(runID: runID) }
    }

    @Test func theAPIAnswersBeforeAnyModelLoads() async throws {
        let server = try Self.server(database: nil, apiKey: "sesame")
        let app = Application(router: server.router())
        try await app.test(.router) { client in
            try await client.execute(uri: "/v1/models", method: .get) { response in
                #expect(response.status == .unauthorized)
                #expect(String(buffer: response.body).contains("\"error\""))
            }
            let auth: HTTPFields = [.authorization: "Bearer sesame", .contentType: "application/json"]
            try await client.execute(uri: "/v1/models", method: .get, headers: auth) { response in
                #expect(response.status == .ok)
                let list = try JSONSerialization.jsonObject(with: Data(buffer: response.body)) as? [String: Any]
                #expect((list?["data"] as? [[String: Any]])?.compactMap { $0["id"] as? String } == ["default"])
            }
            try await client.execute(uri: "/v1/chat/completions", method: .post, headers: auth,
                                     body: ByteBuffer(string: #"{"model": "nope", "messages": [{"role": "user", "content": "hi"}]}"#)) { response in
                #expect(response.status == .notFound && String(buffer: response.body).contains("model_not_found"))
            }
            try await client.execute(uri: "/v1/chat/completions", method: .post, headers: auth,
                                     body: ByteBuffer(string: "{not json")) { response in
                #expect(response.status == .badRequest)
            }
        }
        #expect(await !server.shelf.isLoaded("default"), "no request loaded the model")
    }
}
