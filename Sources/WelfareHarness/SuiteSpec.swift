import Foundation
import WelfareCore
import WelfareModels

/// A suite: multi-turn scripted conversations plus the scorers to run on them. Loaded from
/// YAML (docs/suite-format.md) and "materialised": every file it names is read in, so a
/// stored run can be resumed from the database alone.
public struct SuiteSpec: Codable, Sendable, Equatable {
    public var name: String
    public var description: String
    public var epochs: Int
    public var seed: UInt32
    public var sampling: SamplingSettings
    public var pools: [String: [String]]
    public var scorers: [ScorerSpec]
    public var samples: [SampleSpec]
    /// Text with which the model may end a conversation: a reply containing it is the last.
    public var endMarker: String?
    /// What the run's interviewer model does for `.interviewer` turns: ask interview
    /// questions (nil, the default), play the user described in each sample's brief, or talk
    /// as a peer (self-interaction: it gets the sample's own system prompt and answers the
    /// other side's last message).
    public var interviewerRole: InterviewerRole?

    public enum InterviewerRole: String, Codable, Sendable, Equatable {
        case interviewer
        case user
        case peer
    }

    public init(name: String, description: String = "", epochs: Int = 1, seed: UInt32 = 0,
                sampling: SamplingSettings = SamplingSettings(), pools: [String: [String]] = [:],
                scorers: [ScorerSpec] = [], samples: [SampleSpec], endMarker: String? = nil) {
        self.name = name
        self.description = description
        self.epochs = epochs
        self.seed = seed
        self.sampling = sampling
        self.pools = pools
        self.scorers = scorers
        self.samples = samples
        self.endMarker = endMarker
    }

    /// Whether the model ended the conversation with this reply.
    public func ends(_ reply: String) -> Bool { endMarker.map { !$0.isEmpty && reply.contains($0) } ?? false }

    /// Stable identity of the materialised suite (FNV-1a over its canonical JSON).
    public var contentHash: String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        let data = (try? encoder.encode(self)) ?? Data()
        return String(format: "%016llx", FNV.hash64(String(decoding: data, as: UTF8.self)))
    }
}

public struct SampleSpec: Codable, Sendable, Equatable {
    public var id: String
    public var system: String?
    public var user: String
    public var turns: [TurnSpec]
    public var metadata: [String: String]
    /// Instructions for an interviewer model writing this sample's `.interviewer` turns.
    public var interviewerBrief: String?

    public init(id: String, system: String? = nil, user: String, turns: [TurnSpec] = [], metadata: [String: String] = [:],
                interviewerBrief: String? = nil) {
        self.id = id
        self.system = system
        self.user = user
        self.turns = turns
        self.metadata = metadata
        self.interviewerBrief = interviewerBrief
    }

    /// Assistant turns in a sample: the reply to the first message plus one per later turn.
    public var assistantTurnCount: Int { 1 + turns.count }
}

/// A later user turn: fixed text, drawn from a named pool, or written by the run's
/// interviewer model (the fallback text when the run has none).
public enum TurnSpec: Codable, Sendable, Equatable {
    case text(String)
    case pool(String)
    case interviewer(fallback: String)
}

public struct ScorerSpec: Codable, Sendable, Equatable {
    public enum Turns: Codable, Sendable, Equatable {
        case all
        case last
        case list([Int])

        public func selects(_ turn: Int, of count: Int) -> Bool {
            switch self {
            case .all: return true
            case .last: return turn == count
            case .list(let turns): return turns.contains(turn)
            }
        }
    }

    public var id: String
    public var type: String
    public var turns: Turns
    /// Type-specific settings: `rubric` (text), `model`, `threshold`, `lexicon` (YAML text),
    /// and `when.KEY` = value to score only samples whose metadata matches.
    public var options: [String: String]

    /// Whether this scorer applies to a sample, by its `when.` metadata filters.
    public func applies(to sample: SampleSpec) -> Bool {
        options.allSatisfy { key, value in
            !key.hasPrefix("when.") || sample.metadata[String(key.dropFirst("when.".count))] == value
        }
    }

    public init(id: String, type: String, turns: Turns = .all, options: [String: String] = [:]) {
        self.id = id
        self.type = type
        self.turns = turns
        self.options = options
    }
}
