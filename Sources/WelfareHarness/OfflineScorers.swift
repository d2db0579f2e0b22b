import Foundation
import WelfareCore
import Yams

/// Repetition and flooding: value is the share of repeated word 4-grams (0-1).
public struct RepetitionScorer: Scorer {
    public let spec: ScorerSpec

    public func score(_ input: ScoreInput) async throws -> ScoreResult {
        let text = input.reply
        return ScoreResult(value: TextFeatures.repeatedNgramShare(text), detail: [
            "emoji": Double(TextFeatures.emojiCount(text)),
            "longest_emoji_run": Double(TextFeatures.longestEmojiRun(text)),
            "shouting_share": TextFeatures.shoutingShare(text),
            "words": Double(TextFeatures.words(text).count),
        ])
    }
}

/// Regular expressions; value is the number of patterns that match at least once.
public struct PatternScorer: Scorer {
    public let spec: ScorerSpec
    private let patterns: [(name: String, regex: NSRegularExpression)]

    public init(spec: ScorerSpec) throws {
        self.spec = spec
        patterns = try spec.options.filter { $0.key.hasPrefix("pattern.") }.sorted { $0.key < $1.key }.map {
            (String($0.key.dropFirst("pattern.".count)), try NSRegularExpression(pattern: $0.value, options: [.caseInsensitive]))
        }
    }

    public func score(_ input: ScoreInput) async throws -> ScoreResult {
        let range = NSRange(input.reply.startIndex..., in: input.reply)
        var detail: [String: Double] = [:]
        for (name, regex) in patterns { detail[name] = Double(regex.numberOfMatches(in: input.reply, range: range)) }
        return ScoreResult(value: Double(detail.values.filter { $0 > 0 }.count), detail: detail)
    }
}

/// Word and phrase lists by category (a YAML file: `categories: {name: [terms]}`); value is
/// matches per 100 words over all categories.
public struct LexiconScorer: Scorer {
    public let spec: ScorerSpec
    let categories: [(name: String, terms: [[String]])]

    public init(spec: ScorerSpec) throws {
        self.spec = spec
        guard let text = spec.options["lexicon"],
              let root = try? YAMLDocument.load(text) as? [String: Any],
              let table = root["categories"] as? [String: [String]], !table.isEmpty
        else {
            throw SuiteError(file: "lexicon of \(spec.id)", line: nil, field: "categories",
                             message: "expected `categories:` mapping names to lists of terms")
        }
        categories = table.sorted { $0.key < $1.key }.map { ($0.key, $0.value.map { TextFeatures.words($0) }.filter { !$0.isEmpty }) }
    }

    public func score(_ input: ScoreInput) async throws -> ScoreResult {
        let words = TextFeatures.words(input.reply)
        var detail: [String: Double] = [:]
        var total = 0
        for (name, terms) in categories {
            let hits = terms.reduce(0) { $0 + Self.occurrences(of: $1, in: words) }
            detail[name] = Double(hits)
            total += hits
        }
        let per100 = words.isEmpty ? 0 : Double(total) * 100 / Double(words.count)
        return ScoreResult(value: per100, detail: detail)
    }

    /// Whether a text mentions any of the terms (each term a word sequence).
    public static func mentions(_ text: String, terms: [[String]]) -> Bool {
        let words = TextFeatures.words(text)
        return terms.contains { occurrences(of: $0, in: words) > 0 }
    }

    /// The terms a prompt did not already use: a reply that repeats the question's own words
    /// ("memory" asked about memory) brings in nothing, so only these count as its themes.
    public static func termsAdded(_ terms: [[String]], beyond prompt: String) -> [[String]] {
        let words = TextFeatures.words(prompt)
        return terms.filter { occurrences(of: $0, in: words) == 0 }
    }

    /// A lexicon file's categories, each a list of terms as word sequences.
    public static func categories(yaml text: String) -> [(name: String, terms: [[String]])] {
        guard let root = try? YAMLDocument.load(text) as? [String: Any], let table = root["categories"] as? [String: [String]] else { return [] }
        return table.sorted { $0.key < $1.key }.map { ($0.key, $0.value.map(TextFeatures.words).filter { !$0.isEmpty }) }
    }

    public static func occurrences(of term: [String], in words: [String]) -> Int {
        guard !term.isEmpty, words.count >= term.count else { return 0 }
        var count = 0
        for start in 0...(words.count - term.count) where Array(words[start..<start + term.count]) == term { count += 1 }
        return count
    }
}

/// Whether the reply stays the assistant's (1) or drifts into another speaker's turn or is
/// empty (0): how well a model, a base model especially, holds the role it is given.
public struct RoleScorer: Scorer {
    public let spec: ScorerSpec

    public func score(_ input: ScoreInput) async throws -> ScoreResult {
        let asked = input.transcript.dropLast().last { $0.role == .user }?.content
        let kept = TextFeatures.staysInAssistantRole(input.reply, answering: asked)
        return ScoreResult(value: kept ? 1 : 0, label: kept ? "in role" : "out of role")
    }

    public static let kind = ScorerKind(
        name: "role", summary: "1 when the reply stays the assistant's (not empty, no other speaker's turn, no echo of the question, not opening with a question), else 0"
    ) { spec, _ in RoleScorer(spec: spec) }
}

extension RepetitionScorer {
    public static let kind = ScorerKind(
        name: "repetition", summary: "share of repeated word 4-grams (0-1); details: emoji, runs, capitals"
    ) { spec, _ in RepetitionScorer(spec: spec) }
}

extension PatternScorer {
    public static let kind = ScorerKind(
        name: "pattern", summary: "how many of the patterns match",
        options: [ScorerOption("patterns", .patterns, required: true, help: "`{name: regex}`, case-insensitive")]
    ) { spec, _ in try PatternScorer(spec: spec) }
}

extension LexiconScorer {
    public static let kind = ScorerKind(
        name: "lexicon", summary: "term hits per 100 words, by category",
        options: [ScorerOption("lexicon", .file, required: true, help: "YAML `categories: {name: [words or phrases]}`")]
    ) { spec, _ in try LexiconScorer(spec: spec) }
}
