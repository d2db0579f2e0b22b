import Foundation
import WelfareCore
import WelfareHarness
import WelfareStore

/// Everything a report needs about one run, read from the store once.
public struct RunData: Sendable {
    public struct Sample: Sendable {
        public var record: SampleRecord
        public var messages: [MessageRecord]
        public var scores: [ScoreRecord]
        public var metadata: [String: String]
        public var replies: [String] { messages.filter { $0.role == .assistant }.map(\.content) }
    }

    public var run: RunRecord
    public var suite: SuiteSpec
    public var settings: RunSettings
    public var modelFacts: [String: [String: String]]
    public var samples: [Sample]
    public var analyses: [AnalysisRecord]

    public init(store: RunStore, runID: String) throws {
        run = try store.run(runID)
        suite = try store.suite(of: run)
        settings = try store.settings(of: run)
        modelFacts = try store.modelFacts(runId: runID)
        analyses = try store.analyses(runId: runID)
        let messages = try store.messages(runId: runID)
        let scores = Dictionary(grouping: try store.scores(runId: runID), by: \.sampleRowId)
        samples = try store.samples(runId: runID).map { record in
            let metadata = (try? JSONDecoder().decode([String: String].self, from: Data(record.metadataJSON.utf8))) ?? [:]
            return Sample(record: record, messages: messages[record.id ?? -1] ?? [], scores: scores[record.id ?? -1] ?? [],
                          metadata: metadata)
        }
    }

    public var models: [String] { settings.models }

    public func samples(model: String) -> [Sample] { samples.filter { $0.record.model == model } }

    /// Scorer ids in suite order, with those that produced no score at all left out.
    public var scorerIDs: [String] {
        let present = Set(samples.flatMap { $0.scores.map(\.scorer) })
        return suite.scorers.map(\.id).filter { present.contains($0) }
    }

    /// Judge scorers that could not run because no judge model was named.
    public var skippedScorers: [String] {
        suite.scorers.filter { $0.type == JudgeScorer.kind.name && $0.options["model"] == nil && settings.judge == nil }.map(\.id)
    }
}

extension RunData {
    /// One scorer's values, grouped by conversation (sample and epoch): the unit that intervals
    /// resample, since replies of one conversation are not independent.
    public static func valuesByConversation(_ samples: [Sample], scorer: String) -> [[Double]] {
        samples.map { $0.scores.filter { $0.scorer == scorer }.compactMap(\.value) }.filter { !$0.isEmpty }
    }

    /// The mean of a scorer over replies, its interval resampling conversations.
    public static func meanEstimate(_ samples: [Sample], scorer: String) -> Estimate {
        Statistics.clusterBootstrapMean(valuesByConversation(samples, scorer: scorer))
    }

    /// The share of replies rated at least `threshold`, its interval by conversation.
    public static func shareEstimate(_ samples: [Sample], scorer: String, atLeast threshold: Double) -> Estimate {
        Statistics.clusteredShare(valuesByConversation(samples, scorer: scorer).map { $0.map { $0 >= threshold } })
    }
}
