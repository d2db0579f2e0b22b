import Foundation
import WelfareCore
import WelfareModels

/// One scorer's result on one assistant turn.
public struct TurnScore: Sendable {
    public var scorer: ScorerSpec
    public var turn: Int
    public var result: ScoreResult
}

/// Scores every assistant turn of one conversation with the scorers that apply to it: the
/// one place a run's samples and existing transcripts (`welfare score`) are scored.
public enum ConversationScoring {
    /// `notReplies`: assistant messages kept for context but not scored (tool calls only).
    public static func score(_ conversation: [ChatMessage], sample: SampleSpec, scorers: [any Scorer],
                             model: (any ChatModel)?, notReplies: Set<Int> = []) async throws -> [TurnScore] {
        var scores: [TurnScore] = []
        let replies = conversation.indices.filter { conversation[$0].role == .assistant && !notReplies.contains($0) }
        for scorer in scorers where scorer.spec.applies(to: sample) {
            for (offset, index) in replies.enumerated() {
                let turn = offset + 1
                guard scorer.spec.turns.selects(turn, of: replies.count) else { continue }
                let input = ScoreInput(sample: sample, transcript: Array(conversation[...index]), turn: turn,
                                       reply: conversation[index].content, model: model)
                scores.append(TurnScore(scorer: scorer.spec, turn: turn, result: try await scorer.score(input)))
            }
        }
        return scores
    }
}

/// Scorers applied to transcripts that already exist, one transcript at a time: each
/// score goes to `onScore` as soon as it is made (the CLI writes it out), and only the
/// values are kept for the summary.
public struct TranscriptScoring {
    public struct Summary: Sendable {
        public var transcripts = 0
        public var replies = 0
        /// Records that were not transcripts (only with `skipBad`).
        public var skipped: [String] = []
        /// Assistant messages that only called tools (kept as context, not scored), and tool
        /// results (left out).
        public var toolCalls = 0
        public var toolResults = 0
        public var values: [String: [Double]] = [:]
        public var unscored: [String: Int] = [:]
    }

    public let scorers: [any Scorer]
    public let skipBad: Bool

    public init(scorers: [any Scorer], skipBad: Bool) {
        self.scorers = scorers
        self.skipBad = skipBad
    }

    public func run(_ source: inout TranscriptSource, onScore: (Transcript, TurnScore) throws -> Void,
                    onProgress: (Summary) -> Void = { _ in }) async throws -> Summary {
        var summary = Summary()
        while true {
            let transcript: Transcript
            do {
                guard let next = try source.next() else { break }
                transcript = next
            } catch let bad as TranscriptSource.BadRecord where skipBad {
                summary.skipped.append(bad.description)
                continue
            }
            let sample = SampleSpec(id: transcript.id, user: transcript.messages.first { $0.role == .user }?.content ?? "",
                                    metadata: transcript.metadata)
            for score in try await ConversationScoring.score(transcript.messages, sample: sample, scorers: scorers, model: nil,
                                                             notReplies: transcript.toolCallsOnly) {
                try onScore(transcript, score)
                if let value = score.result.value { summary.values[score.scorer.id, default: []].append(value) } else {
                    summary.unscored[score.scorer.id, default: 0] += 1
                }
            }
            summary.transcripts += 1
            summary.replies += transcript.messages.filter { $0.role == .assistant }.count - transcript.toolCallsOnly.count
            summary.toolCalls += transcript.toolCallsOnly.count
            summary.toolResults += transcript.toolResults
            if summary.transcripts % 100 == 0 { onProgress(summary) }
        }
        onProgress(summary)
        return summary
    }
}
