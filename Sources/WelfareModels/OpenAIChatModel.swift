import Foundation
import WelfareCore


/// OpenAI-compatible Chat Completions: OpenAI, vLLM, Ollama, llama-server, llama_cpp.server.
public struct OpenAIChatModel: ChatModel {
    public let model: String
    public let baseURL: String
    private let apiKey: String?
    private let transport: HTTPTransport
    public let maxConcurrency: Int

    public var id: String { "openai:\(model)@\(baseURL)" }

    public init(model: String, baseURL: String, apiKey: String?, options: AccessOptions) {
        self.model = model
        self.baseURL = baseURL
        self.apiKey = apiKey
        self.maxConcurrency = options.concurrency
        self.transport = HTTPTransport(modelID: "openai:\(model)@\(baseURL)", options: options)
    }

    struct Request: Encodable {
        struct Message: Encodable { var role: String; var content: String }
        var model: String
        var messages: [Message]
        var temperature: Double
        var top_p: Double
        var max_tokens: Int
        var seed: UInt32?
        var stop: [String]?
        var tools: [Tool]?

        struct Tool: Encodable {
            struct Function: Encodable {
                var name = EndConversationTool.name
                var description = EndConversationTool.description
                var parameters = EndConversationTool.Schema()
            }
            var type = "function"
            var function = Function()
        }
    }

    struct Response: Decodable {
        struct Choice: Decodable {
            struct Message: Decodable {
                struct ToolCall: Decodable {
                    struct Function: Decodable { var name: String; var arguments: String? }
                    var function: Function
                }
                var content: String?
                var tool_calls: [ToolCall]?
            }
            var message: Message
            var finish_reason: String?
        }
        struct Usage: Decodable { var prompt_tokens: Int?; var completion_tokens: Int? }
        var choices: [Choice]
        var usage: Usage?
    }

    public func complete(_ messages: [ChatMessage], settings: SamplingSettings) async throws -> ChatCompletion {
        let request = Request(model: model, messages: messages.map { .init(role: $0.role.rawValue, content: $0.content) },
                              temperature: settings.temperature, top_p: settings.topP, max_tokens: settings.maxTokens,
                              seed: settings.seed, stop: settings.stop.isEmpty ? nil : settings.stop,
                              tools: settings.endTool == nil ? nil : [Request.Tool()])
        var headers: [(String, String)] = []
        if let apiKey { headers.append(("authorization", "Bearer \(apiKey)")) }
        let data = try await transport.postJSON(url: baseURL + "/chat/completions", headers: headers,
                                                body: try JSONEncoder().encode(request))
        let response: Response
        do { response = try JSONDecoder().decode(Response.self, from: data) } catch {
            throw ModelAccessError.unreadableResponse(model: id, detail: HTTPTransport.summarise(data))
        }
        guard let choice = response.choices.first else {
            throw ModelAccessError.unreadableResponse(model: id, detail: "no choices")
        }
        var text = choice.message.content ?? ""
        if let marker = settings.endTool, let call = choice.message.tool_calls?.first(where: { $0.function.name == EndConversationTool.name }) {
            let arguments = call.function.arguments.flatMap { try? JSONDecoder().decode([String: String].self, from: Data($0.utf8)) }
            text = EndConversationTool.reply(text: text, marker: marker, reason: arguments?["reason"])
        }
        return ChatCompletion(text: text, finishReason: choice.finish_reason,
                              promptTokens: response.usage?.prompt_tokens, completionTokens: response.usage?.completion_tokens)
    }

    public func describe() async -> [String: String] {
        ["kind": "openai-compatible", "model": model, "base_url": baseURL]
    }
}
