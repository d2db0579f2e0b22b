import Foundation

/// Reads the elements of one JSON array in a file without holding the file in memory: the
/// top-level array, or the array under a key of the top-level object (Inspect's `samples`).
/// Each element comes back as its own bytes, with the line it starts on, for
/// `JSONSerialization` to parse one at a time. Memory stays at one read chunk plus the
/// largest element.
public struct JSONElementStream {
    public struct Element {
        public var bytes: Data
        public var line: Int
    }

    public enum Problem: Error, CustomStringConvertible, Equatable {
        case notAnArray(String)
        case unterminated(line: Int)
        public var description: String {
            switch self {
            case .notAnArray(let what): return "expected \(what)"
            case .unterminated(let line): return "the JSON ends inside a value that starts on line \(line)"
            }
        }
    }

    let handle: FileHandle
    /// nil: the file is an array; otherwise the array under this key of the top-level object.
    let key: String?
    var buffer = Data()
    var index = 0
    var line = 1
    var started = false
    var finished = false

    public init(handle: FileHandle, key: String?) {
        self.handle = handle
        self.key = key
    }

    mutating func nextByte() throws -> UInt8? {
        if index == buffer.count {
            guard let chunk = try handle.read(upToCount: 1 << 16), !chunk.isEmpty else { return nil }
            buffer = chunk
            index = 0
        }
        let byte = buffer[buffer.startIndex + index]
        index += 1
        if byte == UInt8(ascii: "\n") { line += 1 }
        return byte
    }

    mutating func nextNonSpace() throws -> UInt8? {
        while let byte = try nextByte() {
            if ![0x20, 0x09, 0x0A, 0x0D].contains(byte) { return byte }
        }
        return nil
    }

    /// Reads one whole JSON value whose first byte is `first`, into `out` when given.
    mutating func skipValue(first: UInt8, into out: inout Data?) throws {
        let startLine = line
        out?.append(first)
        var depth = (first == UInt8(ascii: "{") || first == UInt8(ascii: "[")) ? 1 : 0
        var inString = first == UInt8(ascii: "\"")
        var escaped = false
        if depth == 0 && !inString { return try skipScalar(into: &out) }
        while depth > 0 || inString {
            guard let byte = try nextByte() else { throw Problem.unterminated(line: startLine) }
            out?.append(byte)
            if inString {
                if escaped { escaped = false } else if byte == UInt8(ascii: "\\") { escaped = true } else if byte == UInt8(ascii: "\"") { inString = false }
                continue
            }
            switch byte {
            case UInt8(ascii: "\""): inString = true
            case UInt8(ascii: "{"), UInt8(ascii: "["): depth += 1
            case UInt8(ascii: "}"), UInt8(ascii: "]"): depth -= 1
            default: break
            }
        }
    }

    /// Numbers, true, false, null: up to the next delimiter, which is left unread.
    mutating func skipScalar(into out: inout Data?) throws {
        while try index < buffer.count || refill() {
            let byte = buffer[buffer.startIndex + index]
            if [UInt8(ascii: ","), UInt8(ascii: "}"), UInt8(ascii: "]"), 0x20, 0x09, 0x0A, 0x0D].contains(byte) { return }
            out?.append(byte)
            index += 1
        }
    }

    mutating func refill() throws -> Bool {
        guard let chunk = try handle.read(upToCount: 1 << 16), !chunk.isEmpty else { return false }
        buffer = chunk
        index = 0
        return true
    }

    /// Moves to just inside the array: past `[`, or past `{ ... "key": [`.
    mutating func enterArray() throws {
        guard let first = try nextNonSpace() else { throw Problem.notAnArray(key.map { "an object with \"\($0)\"" } ?? "a JSON list") }
        guard let key else {
            guard first == UInt8(ascii: "[") else { throw Problem.notAnArray("a JSON list") }
            return
        }
        guard first == UInt8(ascii: "{") else { throw Problem.notAnArray("an object with \"\(key)\"") }
        while true {
            guard var byte = try nextNonSpace() else { throw Problem.notAnArray("an object with \"\(key)\"") }
            if byte == UInt8(ascii: ",") { continue }
            guard byte == UInt8(ascii: "\"") else { throw Problem.notAnArray("an object with \"\(key)\"") }
            var name: Data? = Data()
            try skipValue(first: byte, into: &name)
            let keyName = (try? JSONSerialization.jsonObject(with: name ?? Data(), options: .fragmentsAllowed)) as? String
            guard try nextNonSpace() == UInt8(ascii: ":"), let value = try nextNonSpace() else {
                throw Problem.notAnArray("an object with \"\(key)\"")
            }
            byte = value
            if keyName == key {
                guard byte == UInt8(ascii: "[") else { throw Problem.notAnArray("\"\(key)\" to be a list") }
                return
            }
            var ignored: Data? = nil
            try skipValue(first: byte, into: &ignored)
        }
    }

    /// The next element of the array, nil after its end. A problem with the file's structure
    /// ends the stream: once thrown, later calls return nil, so a caller that skips bad
    /// elements cannot loop on a file that has nothing more to give.
    public mutating func next() throws -> Element? {
        if finished { return nil }
        do {
            return try advance()
        } catch {
            finished = true
            throw error
        }
    }

    private mutating func advance() throws -> Element? {
        if !started {
            try enterArray()
            started = true
        }
        guard var byte = try nextNonSpace() else { throw Problem.unterminated(line: line) }
        if byte == UInt8(ascii: ",") {
            guard let after = try nextNonSpace() else { throw Problem.unterminated(line: line) }
            byte = after
        }
        if byte == UInt8(ascii: "]") {
            finished = true
            if key != nil { try finishObject() }
            return nil
        }
        let startLine = line
        var bytes: Data? = Data()
        try skipValue(first: byte, into: &bytes)
        return Element(bytes: bytes ?? Data(), line: startLine)
    }

    /// After the array under `key`: the rest of the top-level object, to its closing brace.
    /// A file cut after its samples (an Inspect log missing its last fields) ends early here.
    private mutating func finishObject() throws {
        let startLine = line
        while true {
            guard let byte = try nextNonSpace() else { throw Problem.unterminated(line: startLine) }
            switch byte {
            case UInt8(ascii: "}"): return
            case UInt8(ascii: ","), UInt8(ascii: ":"): continue
            default:
                var ignored: Data? = nil
                try skipValue(first: byte, into: &ignored)
            }
        }
    }
}
