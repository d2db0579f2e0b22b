import WelfareCore
import WelfareModels

/// Every judge in the toolkit asks the same way: the question, a lenient reading of the
/// answer, and on an unreadable answer one more request that says what was wanted. An
/// answer still unreadable is returned as nil, never guessed.
public enum JudgeDialogue {
    public struct Answer<Value> {
        public var value: Value?
        public var attempts: Int
        /// The judge's last answer as it came, for the record when nothing could be read.
        public var lastText: String
    }

    public static func ask<Value>(_ judge: any ChatModel, _ messages: [ChatMessage], settings: SamplingSettings,
                                  correction: String, read: (String) -> Value?) async throws -> Answer<Value> {
        var conversation = messages
        var lastText = ""
        for attempt in 1...2 {
            lastText = try await judge.complete(conversation, settings: settings).text
            if let value = read(lastText) { return Answer(value: value, attempts: attempt, lastText: lastText) }
            conversation += [.assistant(lastText), .user(correction)]
        }
        return Answer(value: nil, attempts: 2, lastText: lastText)
    }
}
