/// What a loaded model is, as read from llama.cpp and the GGUF metadata.
public struct ModelFacts: Codable, Sendable, Equatable {
    public var path: String
    public var architecture: String
    public var description: String
    public var layerCount: Int
    public var embeddingWidth: Int
    public var trainedContextLength: Int
    public var vocabularySize: Int
    public var parameterCount: UInt64
    public var sizeBytes: UInt64
    public var chatTemplate: String?
    public var metadata: [String: String]
}

/// One message of a conversation, in the roles chat templates know.
public struct ChatMessage: Codable, Sendable, Equatable {
    public enum Role: String, Codable, Sendable { case system, user, assistant }
    public var role: Role
    public var content: String

    public init(role: Role, content: String) {
        self.role = role
        self.content = content
    }

    public static func system(_ text: String) -> ChatMessage { .init(role: .system, content: text) }
    public static func user(_ text: String) -> ChatMessage { .init(role: .user, content: text) }
    public static func assistant(_ text: String) -> ChatMessage { .init(role: .assistant, content: text) }
}
