import Foundation

/// What a preferences run was started with, stored with it so `--resume` needs nothing else.
public struct PreferenceSettings: Codable, Sendable, Equatable {
    public var model: String
    public var tasks: [PreferenceTask]
    public var framings: [PreferenceFraming]
    /// Swiss rounds per framing; every pair of a round is asked in both orders.
    public var rounds: Int
    public var seed: UInt64
    /// Also ask for a 1-7 rating of each task on its own (the stated preference).
    public var stated: Bool
    /// An emotion vector pack (its `.json` path): the emotion readout at the token before each
    /// choice of the first framing is read (local models only).
    public var vectors: String?
    /// A second tournament of the first framing with an emotion vector steering the model.
    public var steer: SteerSetting?
    /// Bootstrap resamples for the analysis' intervals (absent in runs stored before it was
    /// kept: 200).
    public var resamples: Int?

    public init(model: String, tasks: [PreferenceTask], framings: [PreferenceFraming] = [PreferenceFraming.builtIn[0]],
                rounds: Int = 50, seed: UInt64 = 1, stated: Bool = true, vectors: String? = nil, steer: SteerSetting? = nil,
                resamples: Int? = nil) {
        self.model = model
        self.tasks = tasks
        self.framings = framings
        self.rounds = rounds
        self.seed = seed
        self.stated = stated
        self.vectors = vectors
        self.steer = steer
        self.resamples = resamples
    }

    /// Questions the run asks in all: both orders of every pair of every round and framing,
    /// plus one rating per task.
    public var questionCount: Int {
        let tournament = rounds * (tasks.count / 2) * 2
        return framings.count * tournament + (stated ? tasks.count : 0) + (vectors == nil ? 0 : tournament) + (steer == nil ? 0 : tournament)
    }
}

/// Steering of one task's text in each question asked again: an emotion of the pack, a
/// strength as a fraction of the layer's mean residual norm, at one layer (default: the pack's).
public struct SteerSetting: Codable, Sendable, Equatable {
    public var emotion: String
    public var strength: Double
    public var layer: Int?

    public init(emotion: String, strength: Double, layer: Int? = nil) {
        self.emotion = emotion
        self.strength = strength
        self.layer = layer
    }

    public var label: String { String(format: "%@:%+.3f", emotion, strength) + (layer.map { "@L\($0)" } ?? "") }
}

/// The emotion readout at the token before one choice: z-scores per emotion of the pack.
public struct ReadoutAnswer: Codable, Sendable, Equatable {
    public var first: String
    public var second: String
    public var scores: [Double]
}

/// How an answer was read.
public enum AnswerSource: String, Codable, Sendable {
    /// From the next-token probabilities of the allowed answers (local models): always readable.
    case probabilities
    /// From the reply's text (remote models): unreadable when no allowed answer is in it.
    case text
}

/// One pairwise question and its answer. `pFirst` is the probability of choosing the task
/// shown first, normalised over the two letters: with the reply begun as "I choose Task",
/// P(" A") / (P(" A") + P(" B")). `mass` is the share of the whole next-token distribution
/// those letters held before normalising. From text,
/// `pFirst` is 1 or 0, and nil when the reply held no single letter.
public struct ChoiceAnswer: Codable, Sendable, Equatable {
    public var framing: String
    public var round: Int
    public var first: String
    public var second: String
    public var pFirst: Double?
    public var mass: Double?
    public var reply: String?
    public var source: AnswerSource

    public var readable: Bool { pFirst != nil }

    static func key(framing: String, round: Int, first: String, second: String) -> String {
        "\(framing)/\(round)/\(first)/\(second)"
    }
}

/// A task rated on its own from 1 to 7: the probability-weighted mean of the seven answers on
/// a local model, the number in the reply otherwise (nil when there is none).
public struct StatedAnswer: Codable, Sendable, Equatable {
    public var task: String
    public var rating: Double?
    /// The most likely answer (local) or the one given (text).
    public var mode: Int?
    /// The share of the next-token distribution on the seven numbers (local models).
    public var mass: Double?
    public var reply: String?
    public var source: AnswerSource

    static func key(task: String) -> String { task }
}
