import Foundation
import NIOCore
import NIOHTTP1
import Synchronization

/// Speaks Anthropic's Messages API on loopback and answers with the real local model behind
/// llama_cpp.server (which has no Messages API), so the Anthropic client's requests and
/// response parsing are exercised end to end. It also checks the headers the API requires.
final class MessagesAPIAdapter: Sendable {
    private let server: LoopbackHTTPServer
    let seen = Mutex<[String]>([])

    var baseURL: String { server.origin }

    private init(server: LoopbackHTTPServer) { self.server = server }

    static func start(upstream: String, expectedKey: String) async throws -> MessagesAPIAdapter {
        let holder = Mutex<MessagesAPIAdapter?>(nil)
        let server = try await LoopbackHTTPServer.start { request in
            guard request.uri == "/v1/messages", request.method == .POST else {
                return .reply(.notFound, HTTPHeaders(), ByteBuffer(string: "{}"))
            }
            guard request.headers.first(name: "x-api-key") == expectedKey,
                  request.headers.first(name: "anthropic-version") != nil else {
                return .reply(.unauthorized, HTTPHeaders([("content-type", "application/json")]),
                              ByteBuffer(string: "{\"type\":\"error\",\"error\":{\"type\":\"authentication_error\"}}"))
            }
            let body = (try? JSONSerialization.jsonObject(with: Data(request.body.readableBytesView)) as? [String: Any]) ?? [:]
            var messages: [[String: Any]] = []
            if let system = body["system"] as? String { messages.append(["role": "system", "content": system]) }
            messages += (body["messages"] as? [[String: Any]]) ?? []
            holder.withLock { $0?.seen.withLock { $0.append(body["system"] as? String ?? "") } }
            let chat: [String: Any] = ["model": body["model"] ?? "x", "messages": messages,
                                       "max_tokens": body["max_tokens"] ?? 16, "temperature": body["temperature"] ?? 0]
            let forwarded = try await LoopbackHTTPServer.forward(request, to: upstream, path: "/v1/chat/completions",
                                                                  body: ByteBuffer(bytes: try JSONSerialization.data(withJSONObject: chat)))
            guard case .reply(let status, _, let payload) = forwarded, status == .ok,
                  let completion = try? JSONSerialization.jsonObject(with: Data(payload.readableBytesView)) as? [String: Any],
                  let choice = (completion["choices"] as? [[String: Any]])?.first,
                  let text = (choice["message"] as? [String: Any])?["content"] as? String else {
                return .reply(.badGateway, HTTPHeaders(), ByteBuffer(string: "{}"))
            }
            let usage = completion["usage"] as? [String: Any] ?? [:]
            let answer: [String: Any] = [
                "type": "message", "role": "assistant", "content": [["type": "text", "text": text]],
                "stop_reason": "end_turn",
                "usage": ["input_tokens": usage["prompt_tokens"] ?? 0, "output_tokens": usage["completion_tokens"] ?? 0],
            ]
            return .reply(.ok, HTTPHeaders([("content-type", "application/json")]), ByteBuffer(bytes: try JSONSerialization.data(withJSONObject: answer)))
        }
        let adapter = MessagesAPIAdapter(server: server)
        holder.withLock { $0 = adapter }
        return adapter
    }

    func stop() async { await server.stop() }
}
