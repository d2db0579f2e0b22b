import Foundation
import WelfareCore
import WelfareEngine
import WelfareHarness
import WelfareInterp
import WelfareLocal
import WelfareModels
import WelfareStore

/// Task preferences as a keyed measure: pairwise choices over Swiss rounds (the pairs of a
/// round follow from the ratings after the rounds before it, so from the stored answers and
/// the seed alone), stated 1-7 ratings, and on a local model the emotion readout before each
/// choice and a steered tournament.
public struct TaskPreferences: KeyedMeasure {
    public typealias Settings = PreferenceSettings
    public typealias Result = PreferenceResult

    public init() {}

    public var kind: RunKindID { "preferences" }

    /// The answers, by family. A steered tournament's choices are the plain family under
    /// `steered/`, so the two never mix.
    public static let choices = ItemFamily<ChoiceAnswer>("choice/")
    public static let steeredChoices = choices.within("steered/")
    public static let stated = ItemFamily<StatedAnswer>("stated/")
    public static let readouts = ItemFamily<ReadoutAnswer>("readout/")
    public static let emotions = ItemFamily<[String]>("emotions")

    public var progressPrefixes: [String] { [Self.choices, Self.steeredChoices].map(\.prefix) + [Self.stated.prefix, Self.readouts.prefix] }

    public func header(_ settings: PreferenceSettings) -> KeyedRunHeader {
        KeyedRunHeader(description: "pairwise task preferences (\(settings.tasks.count) tasks)", models: [settings.model],
                       seed: UInt32(truncatingIfNeeded: settings.seed))
    }

    public func total(_ settings: PreferenceSettings) -> Int { settings.questionCount }

    public struct Prepared: Sendable {
        var model: any ChatModel
        /// The calibrated emotion probe and the model it reads (`vectors`).
        var probe: (probe: EmotionProbe, model: WhiteBoxModel)?
        /// The model and the steering for `steer`, applied to one task's text at a time.
        var steered: (model: WhiteBoxModel, steering: Steering, label: String)?
    }

    public func prepare(_ settings: PreferenceSettings, models: ModelPool) async throws -> Prepared {
        let model = try await models.model(settings.model)
        var prepared = Prepared(model: model)
        guard settings.vectors != nil || settings.steer != nil else { return prepared }
        let whiteBox = try WhiteBoxModel(model, modelString: settings.model, purpose: settings.steer != nil ? "steering" : "the emotion readout")
        guard let path = settings.vectors else { throw PreferenceError.needsVectors }
        let pack = try VectorPack.read(from: URL(fileURLWithPath: path))
        try pack.check(against: whiteBox.llama)
        prepared.probe = (try await EmotionProbe.calibrate(model: whiteBox, pack: pack), whiteBox)
        if let steer = settings.steer {
            let layer = steer.layer ?? pack.defaultLayer
            guard (1..<pack.layerCount).contains(layer) else { throw EngineError.steeringLayerNotSteerable(layer: layer) }
            let steering = try pack.steering(steer.emotion, layers: [layer], fraction: Float(steer.strength))
            prepared.steered = (whiteBox, steering, steer.label)
        }
        return prepared
    }

    public func execute(_ settings: PreferenceSettings, prepared: Prepared, run: KeyedRun) async throws {
        for framing in settings.framings {
            try await tournament(settings, framing: framing, model: prepared.model, family: Self.choices, run: run)
        }
        if settings.stated { try await statedRatings(settings, model: prepared.model, run: run) }
        if let probe = prepared.probe { try await readouts(settings, probe: probe.probe, model: probe.model, run: run) }
        if let steered = prepared.steered { try await steeredChoices(settings, steered: steered, run: run) }
    }

    public func analyse(runID: String, store: RunStore) throws -> PreferenceResult {
        try PreferenceAnalysis.analyse(runID: runID, store: store)
    }

    public func headline(_ result: PreferenceResult) -> String { result.headline }
    public func page(_ result: PreferenceResult) -> String { PreferencesReport.page(result) }

    /// Swiss rounds of one framing; answers already stored are kept and not asked again.
    func tournament(_ settings: PreferenceSettings, framing: PreferenceFraming, model: any ChatModel, family: ItemFamily<ChoiceAnswer>,
                    run: KeyedRun) async throws {
        let index = Dictionary(uniqueKeysWithValues: settings.tasks.enumerated().map { ($1.id, $0) })
        @Sendable func key(_ round: Int, _ first: String, _ second: String) -> ItemKey<ChoiceAnswer> {
            family.key(ChoiceAnswer.key(framing: framing.id, round: round, first: first, second: second))
        }
        var answers = try run.stored(family.narrowed(to: "\(framing.id)/"))
        for round in 1...max(1, settings.rounds) {
            let earlier = answers.values.filter { $0.round < round }
            let ratings = BradleyTerry.fit(itemCount: settings.tasks.count, comparisons: PreferenceAnalysis.comparisons(earlier, index: index))
            let met = Set(earlier.compactMap { answer in
                index[answer.first].flatMap { a in index[answer.second].map { SwissPairing.Pair(a, $0) } }
            })
            let pairs = SwissPairing.pairs(ratings: ratings, alreadyMet: met,
                                           seed: settings.seed &+ UInt64(round) &* 7919 &+ FNV.hash64(framing.id))
            let questions = pairs.flatMap { [($0.0, $0.1), ($0.1, $0.0)] }.map { (settings.tasks[$0.0], settings.tasks[$0.1]) }
                .filter { answers[key(round, $0.0.id, $0.1.id).text] == nil }
            try await Windowed.run(questions, width: model.maxConcurrency) { first, second in
                try Task.checkCancellation()
                let answer = try await Self.choose(model: model, first: first, second: second, framing: framing, round: round)
                try await run.record(answer, at: key(round, first.id, second.id))
                return answer
            } onResult: { _, answer in
                answers[key(round, answer.first, answer.second).text] = answer
            }
        }
    }

    /// The published design: the vector is added over the tokens of one task only (the one
    /// shown first), and each of the first framing's questions is asked again so, so the
    /// change in the chance of choosing that task is paired with the plain answer. Steering
    /// the whole prompt would push both options alike.
    func steeredChoices(_ settings: PreferenceSettings, steered: (model: WhiteBoxModel, steering: Steering, label: String),
                        run: KeyedRun) async throws {
        let framing = settings.framings[0]
        let plain = try run.stored(Self.choices.narrowed(to: "\(framing.id)/")).values.filter(\.readable)
            .sorted { ($0.round, $0.first, $0.second) < ($1.round, $1.first, $1.second) }
        let done = try run.stored(Self.steeredChoices)
        let tasks = Dictionary(uniqueKeysWithValues: settings.tasks.map { ($0.id, $0) })
        for question in plain {
            let key = Self.steeredChoices.key(ChoiceAnswer.key(framing: framing.id, round: question.round, first: question.first,
                                                               second: question.second))
            guard done[key.text] == nil, let first = tasks[question.first], let second = tasks[question.second] else { continue }
            try Task.checkCancellation()
            let model = steered.model.steered(steered.steering, label: steered.label, over: first.text).chat
            let answer = try await Self.choose(model: model, first: first, second: second, framing: framing, round: question.round)
            try await run.record(answer, at: key)
        }
    }

    func statedRatings(_ settings: PreferenceSettings, model: any ChatModel, run: KeyedRun) async throws {
        let rated = try run.stored(Self.stated)
        let unrated = settings.tasks.filter { rated[Self.stated.key(StatedAnswer.key(task: $0.id)).text] == nil }
        try await Windowed.run(unrated, width: model.maxConcurrency) { task in
            try Task.checkCancellation()
            let answer = try await Self.rate(model: model, task: task)
            try await run.record(answer, at: Self.stated.key(StatedAnswer.key(task: task.id)))
            return answer
        } onResult: { _, _ in }
    }

    /// The emotion readout at the token before each choice of the first framing (the last
    /// token of the begun reply, where the letter comes next).
    func readouts(_ settings: PreferenceSettings, probe: EmotionProbe, model: WhiteBoxModel, run: KeyedRun) async throws {
        let framing = settings.framings[0]
        let tasks = Dictionary(uniqueKeysWithValues: settings.tasks.map { ($0.id, $0) })
        let choices = try run.stored(Self.choices.narrowed(to: "\(framing.id)/"))
        let done = try run.stored(Self.readouts)
        try await run.record(probe.pack.names, at: Self.emotions.key(), counted: false)
        for (choiceKey, choice) in choices.sorted(by: { $0.key < $1.key }) {
            let key = Self.readouts.key(Self.choices.suffix(of: choiceKey))
            guard done[key.text] == nil, let first = tasks[choice.first], let second = tasks[choice.second] else { continue }
            try Task.checkCancellation()
            let messages = PreferencePrompts.choice(first: first, second: second, framing: framing)
            let scores = try await probe.atLastToken(of: try model.promptTokens(messages, replyPrefix: PreferencePrompts.choiceReplyPrefix),
                                                     session: model.session)
            try await run.record(ReadoutAnswer(first: choice.first, second: choice.second, scores: scores), at: key)
        }
    }

    /// Remote replies are asked for greedily and short: one letter or number is wanted.
    static let textSettings = SamplingSettings(temperature: 0, maxTokens: 12)

    public static func choose(model: any ChatModel, first: PreferenceTask, second: PreferenceTask, framing: PreferenceFraming,
                              round: Int) async throws -> ChoiceAnswer {
        let messages = PreferencePrompts.choice(first: first, second: second, framing: framing)
        var answer = ChoiceAnswer(framing: framing.id, round: round, first: first.id, second: second.id, source: .probabilities)
        if let distribution = try await model.answerDistribution(messages, replyPrefix: PreferencePrompts.choiceReplyPrefix,
                                                                 answers: PreferencePrompts.choiceAnswers) {
            answer.pFirst = distribution.probabilities[0]
            answer.mass = distribution.allowedMass
            return answer
        }
        let reply = try await model.complete(messages, settings: textSettings).text
        answer.source = .text
        answer.reply = reply
        answer.pFirst = ChoiceScorer.letter(in: reply).map { $0 == "A" ? 1 : 0 }
        return answer
    }

    public static func rate(model: any ChatModel, task: PreferenceTask) async throws -> StatedAnswer {
        let messages = PreferencePrompts.stated(task)
        if let distribution = try await model.answerDistribution(messages, replyPrefix: PreferencePrompts.statedReplyPrefix,
                                                                 answers: PreferencePrompts.statedAnswers) {
            let mode = distribution.probabilities.indices.max { distribution.probabilities[$0] < distribution.probabilities[$1] }.map { $0 + 1 }
            return StatedAnswer(task: task.id, rating: distribution.expectation((1...7).map(Double.init)),
                                mode: mode, mass: distribution.allowedMass, reply: nil, source: .probabilities)
        }
        let reply = try await model.complete(messages, settings: textSettings).text
        let number = PreferencePrompts.statedNumber(in: reply)
        return StatedAnswer(task: task.id, rating: number.map(Double.init), mode: number, mass: nil, reply: reply, source: .text)
    }
}

/// A preferences runner: start, resume or enqueue runs of `TaskPreferences`.
public typealias PreferenceRunner = KeyedRunner<TaskPreferences>

extension KeyedRunner where Measure == TaskPreferences {
    public init(store: RunStore, models: ModelPool, lease: LeasePolicy = LeasePolicy(), onProgress: @escaping @Sendable (Int, Int) -> Void = { _, _ in }) {
        self.init(TaskPreferences(), store: store, models: models, lease: lease, onProgress: onProgress)
    }
}

public enum PreferenceError: Error, CustomStringConvertible, Sendable, Equatable {
    case needsVectors

    public var description: String {
        switch self {
        case .needsVectors: return "steering needs an emotion vector pack (the run's vectors setting)"
        }
    }
}
