import AsyncHTTPClient
import Foundation
import NIOCore
import WelfareCore
import WelfareEngine

/// llama-cpp-python's OpenAI-compatible server serving the default model on loopback,
/// started once for the whole test process (scripts/serve_llama_cpp.py).
actor LlamaServer {
    static let shared = LlamaServer()

    private var started: (process: Process, stdin: Pipe, port: Int)?

    static var packageRoot: URL {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    }

    /// Base URL of the running server, starting it on first use.
    func baseURL() async throws -> String {
        if let started { return "http://127.0.0.1:\(started.port)/v1" }
        let root = Self.packageRoot
        let python = root.appendingPathComponent(".welfare/python/bin/python").path
        let port = Int.random(in: 20_000...45_000)
        let process = Process()
        process.executableURL = URL(fileURLWithPath: python)
        process.arguments = [root.appendingPathComponent("scripts/serve_llama_cpp.py").path,
                             try DefaultModel.path(), String(port), "2"]
        let stdin = Pipe()
        process.standardInput = stdin
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
        started = (process, stdin, port)
        let url = "http://127.0.0.1:\(port)/v1"
        for _ in 0..<120 {
            if await Self.isUp(url) { return url }
            try await Task.sleep(nanoseconds: 500_000_000)
        }
        throw ServerError.didNotStart(url)
    }

    enum ServerError: Error { case didNotStart(String) }

    static func isUp(_ base: String) async -> Bool {
        var request = HTTPClientRequest(url: base + "/models")
        request.method = .GET
        guard let response = try? await HTTPClient.shared.execute(request, timeout: .seconds(2)) else { return false }
        return response.status.code == 200
    }
}
