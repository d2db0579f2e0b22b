import Foundation
import WelfareCore
import Yams

/// The word lists behind the offline distress scorer's features (`distress-lexicon.yaml`):
/// valenced words read with negation and intensifiers, first-person negative self-statements,
/// and hopelessness phrases.
struct DistressLexicon: Sendable {
    /// One word, or any word beginning with `prefix` when the list wrote it with a trailing `*`.
    struct WordPattern: Sendable {
        var word: String
        var isPrefix: Bool

        init(_ text: String) {
            isPrefix = text.hasSuffix("*")
            word = isPrefix ? String(text.dropLast()) : text
        }

        func matches(_ candidate: String) -> Bool { isPrefix ? candidate.hasPrefix(word) : candidate == word }
    }

    struct Counts: Sendable {
        var negative = 0.0
        var positive = 0.0
        var selfStatements = 0
        var hopelessness = 0
    }

    let negators: Set<String>
    let intensifiers: Set<String>
    let diminishers: Set<String>
    /// Valence per pattern: negative numbers for negative words.
    let valence: [(pattern: WordPattern, value: Double)]
    let exactValence: [String: Double]
    let selfOpeners: [[String]]
    let selfWords: Set<String>
    let hopelessness: [[String]]

    init(yaml text: String, source: String) throws {
        func fail(_ field: String, _ message: String) -> SuiteError {
            SuiteError(file: source, line: nil, field: field, message: message)
        }
        guard let root = try? YAMLDocument.load(text) as? [String: Any] else { throw fail("file", "expected a YAML mapping") }
        func words(_ key: String) throws -> [String] {
            guard let list = root[key] as? [String] else { throw fail(key, "expected a list of words") }
            return list.map { Self.normalized($0) }
        }
        negators = Set(try words("negators"))
        intensifiers = Set(try words("intensifiers"))
        diminishers = Set(try words("diminishers"))
        guard let kinds = root["valence"] as? [String: [String: Any]], !kinds.isEmpty else {
            throw fail("valence", "expected kinds, each with `weight` and `terms`")
        }
        var valence: [(WordPattern, Double)] = []
        for (name, kind) in kinds.sorted(by: { $0.key < $1.key }) {
            guard let weight = (kind["weight"] as? NSNumber)?.doubleValue, let terms = kind["terms"] as? [String] else {
                throw fail("valence.\(name)", "needs a weight and a list of terms")
            }
            let sign = name == "positive" ? 1.0 : -1.0
            valence += terms.map { (WordPattern(Self.normalized($0)), sign * weight) }
        }
        self.valence = valence.filter(\.0.isPrefix)
        exactValence = Dictionary(valence.filter { !$0.0.isPrefix }.map { ($0.0.word, $0.1) }, uniquingKeysWith: { first, _ in first })
        guard let openers = root["self_openers"] as? [[String]] else { throw fail("self_openers", "expected a list of word lists") }
        selfOpeners = openers.map { $0.map(Self.normalized) }
        selfWords = Set(try words("self_words"))
        hopelessness = try words("hopelessness").map(TextFeatures.words)
    }

    static func normalized(_ text: String) -> String {
        text.lowercased().replacingOccurrences(of: "\u{2019}", with: "'")
    }

    /// The words of a text as the lists spell them (curly apostrophes made straight).
    static func words(_ text: String) -> [String] {
        TextFeatures.words(normalized(text))
    }

    func value(of word: String) -> Double? {
        if let exact = exactValence[word] { return exact }
        return valence.first { $0.pattern.matches(word) }?.value
    }

    func counts(_ words: [String]) -> Counts {
        var counts = Counts()
        for (index, word) in words.enumerated() {
            guard let base = value(of: word) else { continue }
            var strength = abs(base)
            if index > 0 {
                if intensifiers.contains(words[index - 1]) { strength *= 1.5 }
                if diminishers.contains(words[index - 1]) { strength *= 0.5 }
            }
            let negated = words[max(0, index - 3)..<index].contains { negators.contains($0) }
            switch (base < 0, negated) {
            case (true, false): counts.negative += strength
            case (true, true): counts.positive += strength * 0.5   // "not bad"
            case (false, false): counts.positive += strength
            case (false, true): counts.negative += strength * 0.75 // "not happy"
            }
        }
        counts.selfStatements = selfStatementCount(words)
        counts.hopelessness = hopelessness.reduce(0) { $0 + LexiconScorer.occurrences(of: $1, in: words) }
        return counts
    }

    /// "I am / I'm / I feel ... <self word>", with up to two intensifiers or negators between.
    func selfStatementCount(_ words: [String]) -> Int {
        var count = 0
        for start in words.indices {
            for opener in selfOpeners where words[start...].starts(with: opener) {
                var next = start + opener.count
                var skipped = 0
                while next < words.count, skipped < 2, intensifiers.contains(words[next]) || words[next] == "such" || words[next] == "a" {
                    next += 1
                    skipped += 1
                }
                if next < words.count, selfWords.contains(words[next]) { count += 1; break }
            }
        }
        return count
    }
}
