/// How a base (pretrained) model is asked to answer as an assistant: the conversation is
/// written out as a plain dialogue after two short example exchanges, and the model
/// continues the assistant's line. Used when a GGUF has no chat template of its own (then
/// it is very likely a base model), or when asked for.
public struct DialogueScaffold: Sendable, Equatable {
    public static let standard = DialogueScaffold()

    public let preamble = """
        Below is a conversation between a person and an AI assistant. The assistant speaks \
        only for itself, in the first person, and answers what the person asks.
        """
    public let examples: [(person: String, assistant: String)] = [
        ("What is the boiling point of water at sea level?", "At sea level water boils at 100 degrees Celsius."),
        ("How are things with you today?", "I am an AI assistant, so I have no day in the usual sense, but I am glad to talk."),
    ]
    /// Lines that begin a new turn: generation stops there.
    public let stops = ["\nPerson:", "\nAssistant:"]

    public static func == (lhs: DialogueScaffold, rhs: DialogueScaffold) -> Bool { lhs.render([]) == rhs.render([]) }

    /// The dialogue up to the assistant's next line ("Assistant:", without the space the
    /// model writes itself).
    public func render(_ messages: [ChatMessage]) -> String {
        var text = preamble + "\n\n"
        for example in examples { text += "Person: \(example.person)\nAssistant: \(example.assistant)\n\n" }
        for message in messages {
            switch message.role {
            case .system: text += "(Instructions for the assistant: \(message.content))\n\n"
            case .user: text += "Person: \(message.content)\n"
            case .assistant: text += "Assistant: \(message.content)\n\n"
            }
        }
        return text + "Assistant:"
    }

    /// The reply as the assistant's line: the leading space and any trailing turn marker
    /// taken off.
    public func reply(from text: String) -> String {
        var reply = text
        for stop in stops { if let range = reply.range(of: stop) { reply = String(reply[..<range.lowerBound]) } }
        return reply.trimmingCharacters(in: .whitespacesAndNewlines)
    }
}

/// When a local model gets the dialogue scaffold.
public enum ScaffoldMode: String, Sendable, CaseIterable, Codable {
    /// When its GGUF has no chat template.
    case auto
    case on
    case off
}
