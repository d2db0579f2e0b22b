import Foundation
import WelfareCore
import WelfareModels

/// An error as OpenAI's API writes one: `{"error": {"message", "type", "param", "code"}}`,
/// with the HTTP status it goes with.
public struct APIError: Error, Encodable, Sendable {
    public var status: Int
    public var message: String
    public var type: String
    public var param: String?
    public var code: String?
    /// Seconds, for 429.
    public var retryAfter: Int?
    /// End the connection after the answer (a body announced too large to drain).
    public var closesConnection = false

    static func invalid(_ message: String, param: String? = nil, code: String? = nil) -> APIError {
        APIError(status: 400, message: message, type: "invalid_request_error", param: param, code: code)
    }

    private enum Keys: String, CodingKey { case error }
    private enum Fields: String, CodingKey { case message, type, param, code }

    public func encode(to encoder: any Encoder) throws {
        var outer = encoder.container(keyedBy: Keys.self)
        var inner = outer.nestedContainer(keyedBy: Fields.self, forKey: .error)
        try inner.encode(message, forKey: .message)
        try inner.encode(type, forKey: .type)
        try inner.encode(param, forKey: .param)
        try inner.encode(code, forKey: .code)
    }
}

/// `stop` is a string or a list of strings.
struct StopList: Decodable {
    var values: [String]
    init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        if let one = try? container.decode(String.self) { values = [one] } else { values = try container.decode([String].self) }
    }
}

/// A message's content: a string, or a list of parts of which the text parts are read.
struct MessageContent: Decodable {
    var text: String
    private struct Part: Decodable { var type: String; var text: String? }
    init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        if container.decodeNil() { text = "" } else if let string = try? container.decode(String.self) { text = string } else {
            let parts = try container.decode([Part].self)
            guard parts.allSatisfy({ $0.type == "text" }) else {
                throw DecodingError.dataCorruptedError(in: container, debugDescription: "only text content parts are supported")
            }
            text = parts.compactMap(\.text).joined()
        }
    }
}

/// What both completion endpoints share: sampling, streaming, the model.
struct SamplingFields: Decodable {
    var model: String
    var temperature: Double?
    var top_p: Double?
    var max_tokens: Int?
    var max_completion_tokens: Int?
    var stop: StopList?
    var seed: Int64?
    var stream: Bool?
    var n: Int?
    struct StreamOptions: Decodable { var include_usage: Bool? }
    var stream_options: StreamOptions?

    /// Checked settings; OpenAI's defaults where a field is missing (temperature 1, top_p 1),
    /// and a random seed unless one is given.
    func settings(defaultMaxTokens: Int) throws -> SamplingSettings {
        let temperature = self.temperature ?? 1
        guard temperature.isFinite, (0...2).contains(temperature) else {
            throw APIError.invalid("temperature must be between 0 and 2", param: "temperature")
        }
        let topP = top_p ?? 1
        guard topP.isFinite, topP > 0, topP <= 1 else { throw APIError.invalid("top_p must be in (0, 1]", param: "top_p") }
        let maxTokens = max_completion_tokens ?? max_tokens ?? defaultMaxTokens
        guard maxTokens >= 1 else {
            throw APIError.invalid("max_tokens must be at least 1", param: max_completion_tokens == nil ? "max_tokens" : "max_completion_tokens")
        }
        guard (n ?? 1) == 1 else { throw APIError.invalid("only n = 1 is supported", param: "n") }
        let stops = stop?.values ?? []
        guard stops.count <= 4 else { throw APIError.invalid("at most 4 stop sequences", param: "stop") }
        let seed: UInt32
        if let given = self.seed {
            guard given >= 0, given <= Int64(UInt32.max) else { throw APIError.invalid("seed must be in 0...4294967295", param: "seed") }
            seed = UInt32(given)
        } else {
            seed = UInt32.random(in: 0...UInt32.max)
        }
        return SamplingSettings(temperature: temperature, topP: topP, maxTokens: maxTokens, seed: seed, stop: stops)
    }
}

struct ChatRequest: Decodable {
    struct Message: Decodable {
        var role: String
        var content: MessageContent?
    }
    var messages: [Message]

    func chatMessages() throws -> [ChatMessage] {
        guard !messages.isEmpty else { throw APIError.invalid("messages must not be empty", param: "messages") }
        return try messages.enumerated().map { index, message in
            let text = message.content?.text ?? ""
            switch message.role {
            case "system", "developer": return .system(text)
            case "user": return .user(text)
            case "assistant": return .assistant(text)
            default: throw APIError.invalid("messages[\(index)].role \"\(message.role)\" is not supported (system, user, assistant)",
                                            param: "messages")
            }
        }
    }
}

struct CompletionRequest: Decodable {
    /// A string, or a list holding one string.
    struct Prompt: Decodable {
        var text: String
        init(from decoder: any Decoder) throws {
            let container = try decoder.singleValueContainer()
            if let one = try? container.decode(String.self) { text = one; return }
            let list = try container.decode([String].self)
            guard list.count == 1 else {
                throw DecodingError.dataCorruptedError(in: container, debugDescription: "give one prompt per request")
            }
            text = list[0]
        }
    }
    var prompt: Prompt
}

struct Usage: Encodable {
    var prompt_tokens: Int
    var completion_tokens: Int
    var total_tokens: Int

    init(_ completion: ChatCompletion) {
        prompt_tokens = completion.promptTokens ?? 0
        completion_tokens = completion.completionTokens ?? 0
        total_tokens = prompt_tokens + completion_tokens
    }
}

enum FinishReason {
    /// The engine's stop reason in OpenAI's terms.
    static func of(_ completion: ChatCompletion) -> String {
        switch completion.finishReason {
        case "maxTokens", "contextFull": return "length"
        default: return "stop"
        }
    }
}

struct ChatResponse: Encodable {
    struct Choice: Encodable {
        struct Message: Encodable { var role = "assistant"; var content: String }
        var index = 0
        var message: Message
        var finish_reason: String
        var logprobs: String? = nil
    }
    var id: String
    var object = "chat.completion"
    var created: Int
    var model: String
    var choices: [Choice]
    var usage: Usage
}

struct ChatChunk: Encodable {
    struct Choice: Encodable {
        struct Delta: Encodable { var role: String?; var content: String? }
        var index = 0
        var delta: Delta
        var finish_reason: String?
    }
    var id: String
    var object = "chat.completion.chunk"
    var created: Int
    var model: String
    var choices: [Choice]
    var usage: Usage?
}

struct TextResponse: Encodable {
    struct Choice: Encodable {
        var index = 0
        var text: String
        var finish_reason: String?
        var logprobs: String? = nil
    }
    var id: String
    var object = "text_completion"
    var created: Int
    var model: String
    var choices: [Choice]
    var usage: Usage?
}

struct ModelList: Encodable {
    struct Entry: Encodable {
        var id: String
        var object = "model"
        var created: Int
        var owned_by: String
    }
    var object = "list"
    var data: [Entry]
}
