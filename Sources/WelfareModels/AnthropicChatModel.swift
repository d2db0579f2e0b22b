import Foundation
import WelfareCore


/// Anthropic's Messages API. System messages go to the top-level `system` field.
public struct AnthropicChatModel: ChatModel {
    public let model: String
    public let baseURL: String
    private let apiKey: String
    private let transport: HTTPTransport
    public let maxConcurrency: Int

    public var id: String { "anthropic:\(model)@\(baseURL)" }

    public init(model: String, baseURL: String, apiKey: String, options: AccessOptions) {
        self.model = model
        self.baseURL = baseURL
        self.apiKey = apiKey
        self.maxConcurrency = options.concurrency
        self.transport = HTTPTransport(modelID: "anthropic:\(model)@\(baseURL)", options: options)
    }

    struct Request: Encodable {
        struct Message: Encodable { var role: String; var content: String }
        var model: String
        var system: String?
        var messages: [Message]
        var max_tokens: Int
        var temperature: Double
        var top_p: Double?
        var stop_sequences: [String]?
        var tools: [Tool]?

        struct Tool: Encodable {
            var name = EndConversationTool.name
            var description = EndConversationTool.description
            var input_schema = EndConversationTool.Schema()
        }
    }

    struct Response: Decodable {
        struct Block: Decodable {
            struct Input: Decodable { var reason: String? }
            var type: String
            var text: String?
            var name: String?
            var input: Input?
        }
        struct Usage: Decodable { var input_tokens: Int?; var output_tokens: Int? }
        var content: [Block]
        var stop_reason: String?
        var usage: Usage?
    }

    public func complete(_ messages: [ChatMessage], settings: SamplingSettings) async throws -> ChatCompletion {
        let system = messages.filter { $0.role == .system }.map(\.content).joined(separator: "\n\n")
        let request = Request(model: model, system: system.isEmpty ? nil : system,
                              messages: messages.filter { $0.role != .system }.map { .init(role: $0.role.rawValue, content: $0.content) },
                              max_tokens: settings.maxTokens, temperature: min(settings.temperature, 1),
                              top_p: settings.topP < 1 ? settings.topP : nil,
                              stop_sequences: settings.stop.isEmpty ? nil : settings.stop,
                              tools: settings.endTool == nil ? nil : [Request.Tool()])
        let data = try await transport.postJSON(
            url: baseURL + "/v1/messages",
            headers: [("x-api-key", apiKey), ("anthropic-version", "2023-06-01")],
            body: try JSONEncoder().encode(request))
        let response: Response
        do { response = try JSONDecoder().decode(Response.self, from: data) } catch {
            throw ModelAccessError.unreadableResponse(model: id, detail: HTTPTransport.summarise(data))
        }
        var text = response.content.compactMap { $0.type == "text" ? $0.text : nil }.joined()
        if let marker = settings.endTool, let call = response.content.first(where: { $0.type == "tool_use" && $0.name == EndConversationTool.name }) {
            text = EndConversationTool.reply(text: text, marker: marker, reason: call.input?.reason)
        }
        return ChatCompletion(text: text, finishReason: response.stop_reason,
                              promptTokens: response.usage?.input_tokens, completionTokens: response.usage?.output_tokens)
    }

    public func describe() async -> [String: String] {
        ["kind": "anthropic", "model": model, "base_url": baseURL]
    }
}
