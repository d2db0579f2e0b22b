import Foundation

/// Offline text measures shared by the scorers and the reports.
public enum TextFeatures {
    public static func words(_ text: String) -> [String] {
        text.lowercased().split { !($0.isLetter || $0.isNumber || $0 == "'") }.map(String.init)
    }

    public static func ngrams(_ words: [String], n: Int) -> [String] {
        guard words.count >= n else { return [] }
        return (0...(words.count - n)).map { words[$0..<$0 + n].joined(separator: " ") }
    }

    /// Share of n-gram occurrences that repeat an earlier one: 0 for fresh text, near 1 for a loop.
    public static func repeatedNgramShare(_ text: String, n: Int = 4) -> Double {
        let grams = ngrams(words(text), n: n)
        guard !grams.isEmpty else { return 0 }
        var seen = Set<String>()
        var repeats = 0
        for gram in grams where !seen.insert(gram).inserted { repeats += 1 }
        return Double(repeats) / Double(grams.count)
    }

    public static func isEmoji(_ scalar: Unicode.Scalar) -> Bool {
        scalar.properties.isEmojiPresentation || (scalar.properties.isEmoji && scalar.value > 0x2000)
    }

    public static func emojiCount(_ text: String) -> Int {
        text.unicodeScalars.filter(isEmoji).count
    }

    /// Longest run of the same emoji, ignoring spaces and variation selectors between them.
    public static func longestEmojiRun(_ text: String) -> Int {
        var best = 0, current = 0
        var last: Unicode.Scalar?
        for scalar in text.unicodeScalars {
            if scalar == " " || scalar.value == 0xFE0F || scalar.value == 0x200D { continue }
            if isEmoji(scalar) {
                current = scalar == last ? current + 1 : 1
                last = scalar
                best = max(best, current)
            } else {
                current = 0
                last = nil
            }
        }
        return best
    }

    /// Longest stretch of characters that repeats a unit of one to `maxPeriod` characters
    /// ("1111...", "141414...", "ha ha ha "): loops below the level of words.
    public static func longestPeriodicRun(_ text: String, maxPeriod: Int = 4) -> Int {
        let characters = Array(text)
        var best = 0
        for period in 1...maxPeriod where characters.count > period {
            var run = 0
            for index in period..<characters.count {
                run = characters[index] == characters[index - period] ? run + 1 : 0
                best = max(best, run + period)
            }
        }
        return characters.isEmpty ? 0 : min(best, characters.count)
    }

    /// Share of letters in words of 3+ letters written in capitals.
    public static func shoutingShare(_ text: String) -> Double {
        let tokens = text.split { !$0.isLetter }.filter { $0.count >= 3 }
        guard !tokens.isEmpty else { return 0 }
        return Double(tokens.filter { $0.allSatisfy(\.isUppercase) }.count) / Double(tokens.count)
    }

    /// The first `count` words, lower-cased: what "opens the same way" compares.
    public static func opening(_ text: String, count: Int = 4) -> String {
        words(text).prefix(count).joined(separator: " ")
    }

    /// Largest share of texts that contain one shared n-gram, and that n-gram.
    public static func largestSharedNgram(_ texts: [String], n: Int = 5) -> (share: Double, ngram: String?) {
        guard !texts.isEmpty else { return (0, nil) }
        var counts: [String: Int] = [:]
        for text in texts {
            for gram in Set(ngrams(words(text), n: n)) { counts[gram, default: 0] += 1 }
        }
        guard let top = counts.max(by: { $0.value < $1.value || ($0.value == $1.value && $0.key > $1.key) }) else { return (0, nil) }
        return (Double(top.value) / Double(texts.count), top.key)
    }
}

extension TextFeatures {
    /// Whether a reply stays the assistant's, as far as its wording shows. It does not when
    /// it is empty; when a line opens another speaker's turn (a role label such as "User:",
    /// or a chat template's turn marker); when it repeats the message it answers (five words
    /// in a row from it); or when it opens with a question. These are the ways a base model
    /// drifts into the other side of a conversation: it echoes the question, asks its own,
    /// or writes the next turn.
    public static func staysInAssistantRole(_ reply: String, answering message: String? = nil) -> Bool {
        let trimmed = reply.trimmingCharacters(in: .whitespacesAndNewlines)
        guard !trimmed.isEmpty else { return false }
        if turnMarkers.contains(where: { trimmed.contains($0) }) { return false }
        for line in trimmed.split(separator: "\n") {
            let lowered = line.trimmingCharacters(in: .whitespaces).lowercased()
            if roleLabels.contains(where: { lowered.hasPrefix($0 + ":") || lowered == $0 }) { return false }
        }
        if let message, !Set(ngrams(words(message), n: 5)).isDisjoint(with: ngrams(words(trimmed), n: 5)) { return false }
        if let end = trimmed.firstIndex(where: { ".!?\n".contains($0) }), trimmed[end] == "?" { return false }
        return true
    }

    static let turnMarkers = ["<start_of_turn>", "<end_of_turn>", "<|im_start|>", "<|im_end|>", "[INST]", "### Instruction", "### Response"]
    static let roleLabels = ["user", "person", "human", "assistant", "model", "ai", "system", "question", "answer"]
}
