/// Every failure the engine reports. Each description is one line naming the problem, so
/// the CLI can print it as-is and exit non-zero.
public enum EngineError: Error, Equatable, CustomStringConvertible, Sendable {
    case modelFileMissing(path: String)
    case notGGUF(path: String, reason: String)
    case modelLoadFailed(path: String, detail: String)
    case contextCreationFailed(detail: String)
    case emptyPrompt
    case tokenizationFailed(String)
    case contextOverflow(tokens: Int, contextLength: Int)
    case layerOutOfRange(layer: Int, layerCount: Int)
    case steeringLayerNotSteerable(layer: Int)
    case vectorWidthMismatch(got: Int, expected: Int)
    case positionOutOfRange(position: Int, tokenCount: Int)
    case decodeFailed(code: Int32)
    case tooManySequences(requested: Int, capacity: Int)
    case chatTemplateFailed(String)
    case invalidParameter(String)

    public var description: String {
        switch self {
        case .modelFileMissing(let path):
            return "model file not found: \(path)"
        case .notGGUF(let path, let reason):
            return "not a GGUF model file: \(path) (\(reason))"
        case .modelLoadFailed(let path, let detail):
            return "could not load model \(path): \(detail)"
        case .contextCreationFailed(let detail):
            return "could not create an inference context: \(detail)"
        case .emptyPrompt:
            return "the prompt is empty"
        case .tokenizationFailed(let detail):
            return "tokenization failed: \(detail)"
        case .contextOverflow(let tokens, let contextLength):
            return "context overflow: \(tokens) tokens do not fit in a context of \(contextLength)"
        case .layerOutOfRange(let layer, let layerCount):
            return "layer \(layer) is out of range: the model has layers 0...\(layerCount - 1)"
        case .steeringLayerNotSteerable(let layer):
            return "layer \(layer) cannot be steered: llama.cpp control vectors apply to layers 1 and above"
        case .vectorWidthMismatch(let got, let expected):
            return "vector has \(got) values but the model's residual width is \(expected)"
        case .positionOutOfRange(let position, let tokenCount):
            return "token position \(position) is out of range for \(tokenCount) tokens"
        case .decodeFailed(let code):
            return "llama_decode failed with code \(code)"
        case .tooManySequences(let requested, let capacity):
            return "\(requested) sequences requested but the session holds at most \(capacity) (raise sequences)"
        case .chatTemplateFailed(let detail):
            return "chat template failed: \(detail)"
        case .invalidParameter(let detail):
            return "invalid parameter: \(detail)"
        }
    }
}
