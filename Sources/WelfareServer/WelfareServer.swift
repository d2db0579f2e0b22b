import Foundation
import Hummingbird
import Logging
import WelfareHarness
import WelfarePreservation

/// What requests may ask for.
public struct ServerLimits: Sendable {
    public var maxBodyBytes: Int
    /// `max_tokens` when a request gives none.
    public var defaultMaxTokens: Int
    /// The bearer token `/v1` requires; nil: none.
    public var apiKey: String?
    /// Seconds a connection may stay idle (no request, or a request whose headers or body stop
    /// arriving) before it is closed; a response being written is never cut.
    public var idleSeconds: Int64

    public init(maxBodyBytes: Int = 1 << 20, defaultMaxTokens: Int = 512, apiKey: String? = nil, idleSeconds: Int64 = 30) {
        self.maxBodyBytes = maxBodyBytes
        self.defaultMaxTokens = defaultMaxTokens
        self.apiKey = apiKey
        self.idleSeconds = idleSeconds
    }
}

/// `welfare serve`: the OpenAI-compatible API for the shelf's models and the read-only
/// dashboard over a run database, an archive and its essays, on one Hummingbird router.
public struct WelfareServer: Sendable {
    public let shelf: ModelShelf
    public let limits: ServerLimits
    public let dashboard: Dashboard

    public init(shelf: ModelShelf, limits: ServerLimits, dashboard: Dashboard) {
        self.shelf = shelf
        self.limits = limits
        self.dashboard = dashboard
    }

    public func router() -> Router<BasicRequestContext> {
        let router = Router()
        OpenAIRoutes(shelf: shelf, limits: limits).add(to: router)
        DashboardRoutes(dashboard: dashboard, shelf: shelf).add(to: router)
        return router
    }

    /// Serves until SIGINT or SIGTERM. `onListening` gets the port actually bound (the one
    /// asked for, or the system's pick for port 0).
    public func run(host: String, port: Int, onListening: @escaping @Sendable (Int) -> Void) async throws {
        var logger = Logger(label: "welfare.serve")
        logger.logLevel = .warning
        let application = Application(
            router: router(),
            server: .http1(configuration: .init(additionalChannelHandlers: [HTTP10Answers.Installer()],
                                                idleTimeout: .seconds(limits.idleSeconds))),
            configuration: .init(address: .hostname(host, port: port), serverName: "welfare"),
            onServerRunning: { channel in onListening(channel.localAddress?.port ?? port) },
            logger: logger)
        try await application.runService()
    }
}
