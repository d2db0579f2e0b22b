import ArgumentParser
import Foundation
import WelfareAssessment
import WelfareCore
import WelfareModels
import WelfarePreservation
import WelfareServer

struct ServeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "serve", abstract: "Serve local and archived models over an OpenAI-compatible API, with a live dashboard.",
        discussion: """
            API: GET /v1/models, POST /v1/chat/completions and /v1/completions (streaming or not). Each model decodes up to \
            --concurrency requests together; up to --queue more wait, and the rest get 429 with Retry-After.
            Dashboard (read-only, no key): / (runs in --db with live progress), /runs/ID (reports), /archive, /essays/.
            """)

    @Option(name: .shortAndLong, help: "A model to serve: local:default, a GGUF path, or NAME=PATH (repeatable; default: local:default unless --archive is given).")
    var model: [String] = []
    @Option(help: "Archive folder: its models are served under their archive names, and shown on /archive and /essays/.")
    var archive: String?
    @OptionGroup(title: "Runs the dashboard shows") var store: StoreOptions
    @Option(help: "Address to listen on.") var host = "127.0.0.1"
    @Option(parsing: .unconditional, help: "Port (0: any free port).") var port = 8080
    @Option(name: .customLong("api-key-env"), help: "Environment variable holding the bearer token every /v1 request must carry.")
    var apiKeyEnv: String?
    @Option(parsing: .unconditional, help: "Requests each model decodes together (its slots).") var concurrency = 4
    @Option(parsing: .unconditional, help: "Requests that may wait per model while its slots are busy.") var queue = 8
    @Option(name: .customLong("max-body"), parsing: .unconditional, help: "Largest request body, in bytes.") var maxBody = 1 << 20
    @Option(name: .customLong("idle-timeout"), parsing: .unconditional,
            help: "Seconds before a connection that sends nothing (or stops mid-request) is closed; a reply being written is never cut.")
    var idleTimeout = 30
    @Option(name: .customLong("max-tokens"), parsing: .unconditional, help: "max_tokens when a request gives none.")
    var maxTokens = 512
    @OptionGroup var engine: EngineOptions

    func validate() throws {
        guard (0...65535).contains(port) else { throw ValidationError("--port must be in 0...65535") }
        guard queue >= 0 else { throw ValidationError("--queue must be at least 0") }
        guard (1...64).contains(concurrency) else { throw ValidationError("--concurrency must be in 1...64") }
        guard maxBody >= 1024 else { throw ValidationError("--max-body must be at least 1024") }
        guard (1...3600).contains(idleTimeout) else { throw ValidationError("--idle-timeout must be 1 to 3600 seconds") }
        guard maxTokens >= 1 else { throw ValidationError("--max-tokens must be at least 1") }
    }

    func run() async throws {
        var apiKey: String?
        if let apiKeyEnv {
            guard let value = ProcessInfo.processInfo.environment[apiKeyEnv], !value.isEmpty else {
                throw InputError("--api-key-env: the environment variable \(apiKeyEnv) is not set")
            }
            apiKey = value
        }
        // Opening a folder as an archive would make one; the server only reads.
        if let archive, !FileManager.default.fileExists(atPath: URL(fileURLWithPath: archive).appendingPathComponent("oci-layout").path) {
            throw InputError("--archive \(archive): not an archive (no oci-layout file; `welfare archive add` makes one)")
        }
        let openedArchive = try archive.map { try ModelArchive(root: URL(fileURLWithPath: $0), create: false) }
        var served = try (model.isEmpty && archive == nil ? ["local:default"] : model).map(ServedModel.parse)
        if let openedArchive { served += try ServedModel.archived(in: openedArchive) }
        guard !served.isEmpty else { throw InputError("nothing to serve: the archive holds no model with weights, and no -m was given") }
        let access = AccessOptions(concurrency: concurrency, threads: engine.threads, contextLength: engine.context, scaffold: engine.scaffold,
                                   localBatch: concurrency)
        let server = WelfareServer(
            shelf: try ModelShelf(models: served, access: access, queueLimit: queue),
            limits: ServerLimits(maxBodyBytes: maxBody, defaultMaxTokens: maxTokens, apiKey: apiKey, idleSeconds: Int64(idleTimeout)),
            dashboard: try Dashboard(database: try store.location(), archiveRoot: openedArchive?.root, kinds: .standard))
        let host = self.host
        let ids = served.map(\.id).joined(separator: ", ")
        try await server.run(host: host, port: port) { bound in
            // One line tools can wait for; written unbuffered, since stdout may be a pipe.
            FileHandle.standardOutput.write(Data("serving \(ids) on http://\(host):\(bound)/v1; dashboard on http://\(host):\(bound)/\n".utf8))
        }
    }
}
