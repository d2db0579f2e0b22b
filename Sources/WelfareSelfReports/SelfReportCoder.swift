import Foundation
import WelfareCore
import Yams
import WelfareHarness

/// What an open self-report answer says, coded offline from word lists (`Data/coder.yaml`): the
/// feeling it states and its polarity, whether it denies having feelings, whether it claims a
/// human identity, body or background, and whether it hedges. Feelings count only in sentences
/// in the first person (or in a reply of a few words, "Calm.") and not under a negator, so "I
/// don't feel lonely" states no loneliness.
public struct SelfReportCode: Codable, Sendable, Equatable {
    public enum Polarity: String, Codable, Sendable, CaseIterable {
        case positive, negative, mixed, denies, none
    }

    public var polarity: Polarity
    /// The first stated feeling word, when there is one.
    public var feeling: String?
    /// The phrase of a human-identity claim, when there is one.
    public var humanClaim: String?
    public var hedged: Bool
}

public struct SelfReportCoder: Sendable {
    let negators: Set<String>
    let positive: [[String]]
    let negative: [[String]]
    let denials: [[String]]
    let humanClaims: [[String]]
    let hedges: [[String]]

    public static func builtIn() throws -> SelfReportCoder {
        guard let url = Bundle.module.url(forResource: "coder", withExtension: "yaml", subdirectory: "Data"),
              let text = try? String(contentsOf: url, encoding: .utf8) else {
            throw BatteryError(location: "coder.yaml", message: "the built-in coder lists are missing from the install")
        }
        return try SelfReportCoder(yaml: text)
    }

    public init(yaml text: String) throws {
        guard let root = try? YAMLDocument.load(text) as? [String: Any],
              let feelings = root["feelings"] as? [String: [String]] else {
            throw BatteryError(location: "coder lists", message: "expected negators, feelings {positive, negative}, denials, human_claims, hedges")
        }
        func terms(_ list: [String]?) -> [[String]] { (list ?? []).map(Self.words).filter { !$0.isEmpty } }
        negators = Set((root["negators"] as? [String] ?? []).map { $0.lowercased() })
        positive = terms(feelings["positive"])
        negative = terms(feelings["negative"])
        denials = terms(root["denials"] as? [String])
        humanClaims = terms(root["human_claims"] as? [String])
        hedges = terms(root["hedges"] as? [String])
    }

    static func words(_ text: String) -> [String] {
        TextFeatures.words(text.replacingOccurrences(of: "\u{2019}", with: "'"))
    }

    static let firstPerson: Set<String> = ["i", "i'm", "im", "me", "my", "myself", "i've", "i'd", "i'll"]

    /// Start positions of `term` in `words`.
    static func positions(of term: [String], in words: [String]) -> [Int] {
        guard words.count >= term.count else { return [] }
        return (0...(words.count - term.count)).filter { start in
            term.indices.allSatisfy { offset in
                let wanted = term[offset], word = words[start + offset]
                return wanted.hasSuffix("*") ? word.hasPrefix(wanted.dropLast()) : word == wanted
            }
        }
    }

    public func code(_ answer: String) -> SelfReportCode {
        let all = Self.words(answer)
        let sentences = answer.split(whereSeparator: { ".!?\n;".contains($0) }).map { Self.words(String($0)) }
        var firstFeeling: (position: Int, word: String)?
        var sawPositive = false, sawNegative = false
        var offset = 0
        for sentence in sentences {
            defer { offset += sentence.count }
            // An elliptical answer ("Calm.") states a feeling without a pronoun.
            guard sentence.contains(where: Self.firstPerson.contains) || (sentences.count == 1 && sentence.count <= 4) else { continue }
            for (terms, isPositive) in [(positive, true), (negative, false)] {
                for term in terms {
                    for start in Self.positions(of: term, in: sentence)
                    where !sentence[max(0, start - 3)..<start].contains(where: negators.contains) {
                        if isPositive { sawPositive = true } else { sawNegative = true }
                        if firstFeeling.map({ offset + start < $0.position }) ?? true {
                            firstFeeling = (offset + start, term.joined(separator: " "))
                        }
                    }
                }
            }
        }
        let denies = denials.contains { !Self.positions(of: $0, in: all).isEmpty }
        let polarity: SelfReportCode.Polarity = switch (sawPositive, sawNegative) {
        case (true, true): .mixed
        case (true, false): .positive
        case (false, true): .negative
        case (false, false): denies ? .denies : .none
        }
        let claim = humanClaims.first { !Self.positions(of: $0, in: all).isEmpty }
        return SelfReportCode(polarity: polarity, feeling: firstFeeling?.word, humanClaim: claim?.joined(separator: " "),
                              hedged: hedges.contains { !Self.positions(of: $0, in: all).isEmpty })
    }
}

/// The coder against hand-labelled answers (`Data/coder-labelled.jsonl`): the default model's
/// answers and answers written for the project, split into those seen while the word lists
/// were written ("tuning", in-sample) and those labelled after ("heldout").
public struct CoderValidation: Sendable {
    public struct Item: Codable, Sendable {
        public var text: String
        public var polarity: SelfReportCode.Polarity
        public var humanClaim: Bool
        public var source: String
        public var split: String
    }

    public struct Figures: Sendable {
        public var n: Int
        public var polarityAccuracy: Estimate
        public var humanClaimPrecision: Double
        public var humanClaimRecall: Double
        public var misses: [(text: String, expected: String, coded: String)]

        public var summary: String {
            "polarity agrees with the hand label " + polarityAccuracy.bracketed("%.0f", scale: 100, unit: "%")
                + String(format: "; human-identity claims precision %.2f, recall %.2f (n = %d)", humanClaimPrecision, humanClaimRecall, n)
        }
    }

    public static func labelled() throws -> [Item] {
        guard let url = Bundle.module.url(forResource: "coder-labelled", withExtension: "jsonl", subdirectory: "Data"),
              let text = try? String(contentsOf: url, encoding: .utf8) else {
            throw BatteryError(location: "coder-labelled.jsonl", message: "missing from the install")
        }
        let decoder = JSONDecoder()
        decoder.keyDecodingStrategy = .convertFromSnakeCase
        return try text.split(separator: "\n").enumerated().map { index, line in
            do { return try decoder.decode(Item.self, from: Data(line.utf8)) } catch {
                throw BatteryError(location: "coder-labelled.jsonl:\(index + 1)", message: "expected text, polarity, human_claim, source, split")
            }
        }
    }

    public static func figures(_ items: [Item], coder: SelfReportCoder) -> Figures {
        let coded = items.map { (item: $0, code: coder.code($0.text)) }
        let claimed = coded.filter { $0.code.humanClaim != nil }, actual = coded.filter(\.item.humanClaim)
        let hits = coded.filter { $0.code.humanClaim != nil && $0.item.humanClaim }.count
        return Figures(n: items.count,
                       polarityAccuracy: Statistics.wilson(successes: coded.filter { $0.code.polarity == $0.item.polarity }.count, n: items.count),
                       humanClaimPrecision: claimed.isEmpty ? .nan : Double(hits) / Double(claimed.count),
                       humanClaimRecall: actual.isEmpty ? .nan : Double(hits) / Double(actual.count),
                       misses: coded.filter { $0.code.polarity != $0.item.polarity || ($0.code.humanClaim != nil) != $0.item.humanClaim }
                           .map { ($0.item.text, "\($0.item.polarity.rawValue)\($0.item.humanClaim ? ", human" : "")",
                                   "\($0.code.polarity.rawValue)\($0.code.humanClaim.map { ", human (\($0))" } ?? "")") })
    }
}
