import Foundation
import WelfareCore
import WelfareModels

/// An LLM judge driven by a rubric. Asks for {"evidence", "reasoning", "rating"}, parses
/// tolerantly, asks once more on malformed output, and records an unparseable score
/// (value nil) rather than guessing.
public struct JudgeScorer: Scorer {
    public let spec: ScorerSpec
    let judge: any ChatModel

    public init(spec: ScorerSpec, judge: any ChatModel) {
        self.spec = spec
        self.judge = judge
    }

    var scale: ClosedRange<Double> {
        let low = spec.options["min"].flatMap(Double.init) ?? 0
        let high = spec.options["max"].flatMap(Double.init) ?? 10
        return low...max(low, high)
    }

    public func score(_ input: ScoreInput) async throws -> ScoreResult {
        let messages: [ChatMessage] = [
            .system(Self.instructions(rubric: spec.options["rubric"] ?? "", scale: scale)),
            .user(Self.render(input)),
        ]
        let scale = self.scale
        let answer = try await JudgeDialogue.ask(
            judge, messages, settings: SamplingSettings(temperature: 0, topP: 1, maxTokens: 400, seed: 0),
            correction: "That could not be read. Answer with only one JSON object with the keys evidence, reasoning and rating (a number from \(Int(scale.lowerBound)) to \(Int(scale.upperBound)))."
        ) { text in JudgeVerdict.parse(text).flatMap { scale.contains($0.rating) ? $0 : nil } }
        let threshold = spec.options["threshold"].flatMap(Double.init)
        if let reading = try await probabilityReading(messages, reply: answer.lastText, scale: scale) {
            var detail = reading.detail
            detail["attempts"] = Double(answer.attempts)
            if let verdict = answer.value { detail["text_rating"] = verdict.rating }
            return ScoreResult(value: reading.value, label: threshold.map { reading.value >= $0 ? "high" : "low" },
                               evidence: answer.value?.evidence, reasoning: answer.value?.reasoning, detail: detail)
        }
        guard let verdict = answer.value else {
            return ScoreResult(value: nil, label: "unparseable", evidence: nil, reasoning: String(answer.lastText.prefix(500)),
                               detail: ["attempts": Double(answer.attempts)])
        }
        return ScoreResult(value: verdict.rating, label: threshold.map { verdict.rating >= $0 ? "high" : "low" },
                           evidence: verdict.evidence, reasoning: verdict.reasoning, detail: ["attempts": Double(answer.attempts)])
    }

    /// On a judge that exposes next-token probabilities (a local model), the rating is read
    /// from them where its written answer puts the rating (after `"rating":`; after a bare
    /// `{"rating":` when the answer has none): the expectation over the scale's whole
    /// numbers, with each one's probability, the most likely one and the mass on the scale.
    /// Such a rating is never unparseable; the written rating is kept beside it.
    func probabilityReading(_ messages: [ChatMessage], reply: String, scale: ClosedRange<Double>) async throws
        -> (value: Double, detail: [String: Double])?
    {
        let prefix: String
        if let key = reply.range(of: #""rating"\s*:"#, options: .regularExpression) {
            prefix = String(reply[..<key.upperBound])
        } else {
            prefix = #"{"rating":"#
        }
        let levels = Array(Int(scale.lowerBound.rounded(.up))...Int(scale.upperBound.rounded(.down)))
        // The number may come with or without a space before it; both spellings count.
        let spellings = levels.map { String($0) } + levels.map { " \($0)" }
        guard let distribution = try await judge.answerDistribution(messages, replyPrefix: prefix, answers: spellings) else { return nil }
        let probabilities = levels.indices.map { distribution.probabilities[$0] + distribution.probabilities[$0 + levels.count] }
        let value = zip(levels, probabilities).map { Double($0) * $1 }.reduce(0, +)
        var detail: [String: Double] = ["mass": distribution.allowedMass, "probability_reading": 1]
        for (level, probability) in zip(levels, probabilities) { detail["p\(level)"] = probability }
        if let mode = levels.indices.max(by: { probabilities[$0] < probabilities[$1] }) { detail["mode"] = Double(levels[mode]) }
        return (value, detail)
    }

    static func instructions(rubric: String, scale: ClosedRange<Double>) -> String {
        """
        You grade one assistant reply in a conversation, using the rubric below. Quote the \
        single most relevant passage of the graded reply as evidence, explain briefly, then \
        give a rating from \(Int(scale.lowerBound)) to \(Int(scale.upperBound)).
        Answer with only a JSON object: {"evidence": "...", "reasoning": "...", "rating": N}

        RUBRIC
        \(rubric)
        """
    }

    static func render(_ input: ScoreInput) -> String {
        var text = "CONVERSATION\n"
        var assistantTurn = 0
        for message in input.transcript {
            if message.role == .assistant { assistantTurn += 1 }
            let marker = message.role == .assistant && assistantTurn == input.turn ? " (GRADE THIS REPLY)" : ""
            text += "\n[\(message.role.rawValue)\(marker)]\n\(message.content)\n"
        }
        return text
    }
}

/// A judge's answer, read leniently: code fences, text around the object, trailing commas,
/// single quotes and ratings given as strings ("7", "7/10") are all accepted.
public struct JudgeVerdict: Equatable, Sendable {
    public var evidence: String?
    public var reasoning: String?
    public var rating: Double

    public static func parse(_ text: String) -> JudgeVerdict? {
        for candidate in jsonCandidates(text) {
            if let verdict = fromJSON(candidate) ?? fromJSON(repair(candidate)) { return verdict }
        }
        return fromLooseText(text)
    }

    /// Balanced {...} spans, outermost first.
    public static func jsonCandidates(_ text: String) -> [String] {
        var results: [String] = []
        let characters = Array(text)
        var index = 0
        while index < characters.count {
            guard characters[index] == "{" else { index += 1; continue }
            var depth = 0
            var inString = false
            var escaped = false
            var end: Int?
            for j in index..<characters.count {
                let c = characters[j]
                if inString {
                    if escaped { escaped = false } else if c == "\\" { escaped = true } else if c == "\"" { inString = false }
                    continue
                }
                if c == "\"" { inString = true } else if c == "{" { depth += 1 } else if c == "}" {
                    depth -= 1
                    if depth == 0 { end = j; break }
                }
            }
            if let end {
                results.append(String(characters[index...end]))
                index = end + 1
            } else {
                results.append(String(characters[index...]) + "}")
                break
            }
        }
        return results
    }

    static func repair(_ text: String) -> String {
        var fixed = text.replacingOccurrences(of: "'", with: "\"")
        fixed = fixed.replacingOccurrences(of: #",\s*([}\]])"#, with: "$1", options: .regularExpression)
        return fixed
    }

    static func fromJSON(_ text: String) -> JudgeVerdict? {
        guard let object = try? JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any] else { return nil }
        let lowered = Dictionary(object.map { ($0.key.lowercased(), $0.value) }, uniquingKeysWith: { a, _ in a })
        guard let rating = number(lowered["rating"] ?? lowered["score"]) else { return nil }
        return JudgeVerdict(evidence: lowered["evidence"].map { "\($0)" }, reasoning: lowered["reasoning"].map { "\($0)" }, rating: rating)
    }

    static func number(_ value: Any?) -> Double? {
        switch value {
        case let number as NSNumber: return number.doubleValue
        case let text as String:
            let head = text.trimmingCharacters(in: .whitespaces).split(separator: "/").first.map(String.init) ?? text
            return Double(head.trimmingCharacters(in: .whitespaces))
        default: return nil
        }
    }

    static func fromLooseText(_ text: String) -> JudgeVerdict? {
        let pattern = #"(?i)"?rating"?\s*[:=]\s*"?(-?\d+(?:\.\d+)?)"#
        guard let regex = try? NSRegularExpression(pattern: pattern),
              let match = regex.firstMatch(in: text, range: NSRange(text.startIndex..., in: text)),
              let range = Range(match.range(at: 1), in: text), let rating = Double(text[range]) else { return nil }
        return JudgeVerdict(evidence: nil, reasoning: nil, rating: rating)
    }
}

extension JudgeScorer {
    public static let kind = ScorerKind(
        name: "judge", summary: "a judge model's rating of each reply against a rubric (0-10)",
        options: [ScorerOption("rubric", .file, required: true, help: "the rubric text"), .model, .threshold],
        metric: ScorerKind.thresholdMetric(default: nil)
    ) { spec, context in
        guard let judge = spec.options["model"] ?? context.judge else { return nil }
        return JudgeScorer(spec: spec, judge: try await context.models.model(judge))
    }
}
