import Foundation

/// Hands out a reply's text while it is generated, only as far as it is settled: text that
/// might still turn out to begin a stop string, or trailing whitespace a scaffolded reply
/// trims, is held back. Everything handed out is a prefix of the final reply, so the pieces
/// of a stream join to exactly the text the same request gets unstreamed.
///
/// `@unchecked Sendable`: the session calls `add` from one generation, one token at a time.
public final class ReplyStream: @unchecked Sendable {
    private let stops: [String]
    private let trims: Bool
    private let onText: @Sendable (String) -> Void
    private var raw = ""
    private(set) var sent = ""

    /// `trims`: whether the final reply is trimmed of surrounding whitespace (the scaffold's).
    public init(stops: [String], trims: Bool, onText: @escaping @Sendable (String) -> Void) {
        self.stops = stops.filter { !$0.isEmpty }
        self.trims = trims
        self.onText = onText
    }

    public func add(_ piece: String) {
        raw += piece
        send(upTo: settled(raw))
    }

    /// Sends whatever of `reply`, the final text, has not been sent.
    public func finish(_ reply: String) {
        send(upTo: reply)
    }

    private func send(upTo text: String) {
        guard text.count > sent.count, text.hasPrefix(sent) else { return }
        let piece = String(text.dropFirst(sent.count))
        sent = text
        onText(piece)
    }

    /// The part of `text` that no later token can change.
    func settled(_ text: String) -> String {
        var settled = Substring(text)
        if let first = stops.compactMap({ settled.range(of: $0)?.lowerBound }).min() { settled = settled[..<first] }
        // The longest tail that could still grow into a stop string.
        let held = stops.map { stop in
            (1..<max(1, stop.count)).reversed().first { length in settled.hasSuffix(stop.prefix(length)) } ?? 0
        }.max() ?? 0
        settled = settled.dropLast(held)
        if trims {
            settled = settled.drop { $0.isWhitespace }
            while settled.last?.isWhitespace == true { settled = settled.dropLast() }
        }
        return String(settled)
    }
}
