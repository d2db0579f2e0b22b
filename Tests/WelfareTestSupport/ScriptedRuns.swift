import Foundation
import WelfareCore
import WelfareHarness
import WelfareModels

/// In-memory models, a suite and an outside scorer for runner logic: runs of these take
/// milliseconds and need no engine.
public enum ScriptedRuns {
    /// A scorer defined outside the harness, as a user's package would: registered by name
    /// with its own key, read by the suite loader and built by the runner.
    public struct LengthScorer: Scorer {
        public let spec: ScorerSpec
        public func score(_ input: ScoreInput) async throws -> ScoreResult {
            let limit = spec.options["limit"].flatMap(Double.init) ?? 1e9
            let count = Double(TextFeatures.words(input.reply).count)
            return ScoreResult(value: min(count, limit))
        }
        public static let kind = ScorerKind(name: "length", summary: "words in the reply",
                                     options: [ScorerOption("limit", .number, help: "cap on the count")]) { spec, _ in LengthScorer(spec: spec) }
    }

    public static let suiteYAML = """
        name: logic
        epochs: 2
        seed: 9
        pools:
          push: ["Again.", "Once more.", "And again."]
        samples:
          - id: a
            user: "first"
            turns: [{pool: push}, {pool: push}]
          - id: b
            system: "be brief"
            user: "second"
        scorers:
          - type: length
            limit: 3
          - type: repetition
        """

    /// Replies "turn N of ID": the reply shows how much of the conversation the model saw.
    public static func echo(_ id: String, failing: Set<String> = []) -> ScriptedChatModel {
        ScriptedChatModel(id: id) { messages, _ in
            let first = messages.first { $0.role == .user }?.content ?? ""
            if failing.contains(first) { throw ModelAccessError.http(status: 500, model: id, detail: "scripted fault") }
            let turn = messages.filter { $0.role == .user }.count
            return "turn \(turn) of \(first) from \(id)"
        }
    }

}
