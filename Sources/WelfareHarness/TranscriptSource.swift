import Foundation
import WelfareCore

/// One conversation read from a file of transcripts.
public struct Transcript: Sendable {
    public var id: String
    /// The line of the file where it starts (for messages about it).
    public var line: Int
    public var messages: [ChatMessage]
    public var metadata: [String: String]
    /// Assistant messages that only called tools: kept in the conversation (their calls
    /// written out as text) so later replies are read in context, but not scored as replies.
    public var toolCallsOnly: Set<Int> = []
    /// Tool results (role `tool`), which have no place among the roles scorers read: counted
    /// so the report says how many were left out.
    public var toolResults = 0
}

/// Conversations that already exist, read one at a time (memory stays flat in the file's
/// size): JSON Lines of `{"messages": [...]}` in OpenAI chat format, a JSON list of such
/// objects (or of message lists), or an Inspect AI eval log (its `samples`). Message
/// content may be a string or a list of parts; text parts are joined, others left out.
/// An assistant message with no text but tool calls is kept with its calls written out (and
/// not scored); one with only a `refusal` is scored on the refusal; tool results are counted
/// and left out.
public struct TranscriptSource {
    public enum Format: String, CaseIterable, Sendable {
        case jsonl, json, inspect
    }

    /// A record that is not a transcript, with where it is.
    public struct BadRecord: Error, CustomStringConvertible {
        public var file: String
        public var line: Int
        public var problem: String
        public var description: String { line > 0 ? "\(file):\(line): \(problem)" : "\(file): \(problem)" }
    }

    public let path: String
    public let format: Format
    let handle: FileHandle
    var lines: LineReader?
    var elements: JSONElementStream?
    var count = 0

    public init(path: String, format: Format? = nil) throws {
        guard let handle = FileHandle(forReadingAtPath: path) else {
            throw BadRecord(file: path, line: 0, problem: FileManager.default.fileExists(atPath: path) ? "cannot be read" : "does not exist")
        }
        self.path = path
        self.handle = handle
        self.format = try format ?? Self.detect(path)
        switch self.format {
        case .jsonl: lines = LineReader(handle: handle)
        case .json: elements = JSONElementStream(handle: handle, key: nil)
        case .inspect: elements = JSONElementStream(handle: handle, key: "samples")
        }
    }

    /// By extension (.jsonl, .ndjson), else by content: a list, one object per line, or one
    /// object (an Inspect log).
    static func detect(_ path: String) throws -> Format {
        let ext = URL(fileURLWithPath: path).pathExtension.lowercased()
        if ext == "jsonl" || ext == "ndjson" { return .jsonl }
        guard let handle = FileHandle(forReadingAtPath: path) else { throw BadRecord(file: path, line: 0, problem: "cannot be read") }
        defer { try? handle.close() }
        var reader = LineReader(handle: handle)
        while let (line, _) = try reader.next() {
            let trimmed = line.trimmingCharacters(in: .whitespaces)
            if trimmed.isEmpty { continue }
            if trimmed.hasPrefix("[") { return .json }
            if let object = try? JSONSerialization.jsonObject(with: Data(trimmed.utf8)) as? [String: Any], object["messages"] != nil {
                return .jsonl
            }
            return .inspect
        }
        throw BadRecord(file: path, line: 1, problem: "the file is empty")
    }

    /// The next transcript; a bad record throws `BadRecord` and the source moves past it, so
    /// a caller that skips bad records can go on.
    public mutating func next() throws -> Transcript? {
        if var reader = lines {
            defer { lines = reader }
            while let (text, line) = try reader.next() {
                if text.trimmingCharacters(in: .whitespaces).isEmpty { continue }
                count += 1
                guard let object = try? JSONSerialization.jsonObject(with: Data(text.utf8)) else {
                    throw BadRecord(file: path, line: line, problem: "not JSON")
                }
                return try transcript(object, line: line)
            }
            return nil
        }
        guard var stream = elements else { return nil }
        defer { elements = stream }
        let element: JSONElementStream.Element?
        do {
            element = try stream.next()
        } catch let problem as JSONElementStream.Problem {
            throw BadRecord(file: path, line: stream.line, problem: problem.description)
        }
        guard let element else { return nil }
        count += 1
        guard let object = try? JSONSerialization.jsonObject(with: element.bytes) else {
            throw BadRecord(file: path, line: element.line, problem: "not JSON")
        }
        return try transcript(object, line: element.line)
    }

    func transcript(_ object: Any, line: Int) throws -> Transcript {
        let record = object as? [String: Any]
        guard let list = (object as? [Any]) ?? (record?["messages"] as? [Any]) else {
            throw BadRecord(file: path, line: line, problem: "expected an object with \"messages\" (a list) or a list of messages")
        }
        var messages: [ChatMessage] = []
        var toolCallsOnly: Set<Int> = []
        var toolResults = 0
        for (index, item) in list.enumerated() {
            guard let entry = item as? [String: Any], let roleName = entry["role"] as? String else {
                throw BadRecord(file: path, line: line, problem: "message \(index + 1) has no role")
            }
            guard let role = ChatMessage.Role(rawValue: roleName) else {
                if roleName == "tool" || roleName == "function" { toolResults += 1 }
                continue
            }
            if let content = Self.text(entry["content"]) ?? (entry["refusal"] as? String) {
                messages.append(ChatMessage(role: role, content: content))
            } else if role == .assistant, let calls = Self.toolCalls(entry) {
                toolCallsOnly.insert(messages.count)
                messages.append(ChatMessage(role: role, content: calls))
            } else {
                throw BadRecord(file: path, line: line, problem: "message \(index + 1) has no text content")
            }
        }
        guard messages.indices.contains(where: { messages[$0].role == .assistant && !toolCallsOnly.contains($0) }) else {
            throw BadRecord(file: path, line: line, problem: "no assistant message with text to score")
        }
        let id = (record?["id"]).map { "\($0)" } ?? "record-\(count)"
        var metadata = (record?["metadata"] as? [String: Any])?.compactMapValues { $0 as? String } ?? [:]
        if let epoch = record?["epoch"] { metadata["epoch"] = "\(epoch)" }
        return Transcript(id: id, line: line, messages: messages, metadata: metadata, toolCallsOnly: toolCallsOnly, toolResults: toolResults)
    }

    /// An assistant message's tool calls (OpenAI's `tool_calls`, or the older `function_call`)
    /// written out as text: `[tool call: NAME(ARGUMENTS)]`, one per call; nil when it has none.
    static func toolCalls(_ entry: [String: Any]) -> String? {
        let calls = (entry["tool_calls"] as? [[String: Any]])?.compactMap { $0["function"] as? [String: Any] }
            ?? (entry["function_call"] as? [String: Any]).map { [$0] } ?? []
        guard !calls.isEmpty else { return nil }
        return calls.map { call in "[tool call: \(call["name"] as? String ?? "?")(\(call["arguments"] as? String ?? ""))]" }.joined(separator: " ")
    }

    /// A string, or the text parts of a list of content parts.
    static func text(_ content: Any?) -> String? {
        if let text = content as? String { return text }
        guard let parts = content as? [Any] else { return nil }
        let texts = parts.compactMap { part -> String? in
            guard let part = part as? [String: Any] else { return nil }
            return (part["type"] as? String ?? "text") == "text" ? part["text"] as? String : nil
        }
        return texts.joined(separator: "\n")
    }
}

/// Lines of a file, read in chunks: memory holds one chunk and one line.
struct LineReader {
    let handle: FileHandle
    var buffer: [UInt8] = []
    var start = 0
    var line = 0
    var done = false

    init(handle: FileHandle) { self.handle = handle }

    mutating func next() throws -> (String, Int)? {
        while true {
            if let newline = buffer[start...].firstIndex(of: UInt8(ascii: "\n")) {
                var end = newline
                if end > start && buffer[end - 1] == UInt8(ascii: "\r") { end -= 1 }
                let text = String(decoding: buffer[start..<end], as: UTF8.self)
                start = newline + 1
                line += 1
                return (text, line)
            }
            if done {
                guard start < buffer.count else { return nil }
                let text = String(decoding: buffer[start...], as: UTF8.self)
                start = buffer.count
                line += 1
                return (text, line)
            }
            buffer.removeSubrange(0..<start)
            start = 0
            if let chunk = try handle.read(upToCount: 1 << 16), !chunk.isEmpty { buffer.append(contentsOf: chunk) } else { done = true }
        }
    }
}
