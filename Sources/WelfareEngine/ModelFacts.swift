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
