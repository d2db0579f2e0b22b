import Foundation
import WelfareCore
import WelfareHarness
import WelfareInterp
import WelfareModels
import WelfareStore

/// Runs the pairwise task choices of a preferences run, committing each answer as it comes,
/// so a killed run resumes where it stopped. The pairs of a round follow from the ratings
/// after the rounds before it, and so from the stored answers and the seed alone.
public struct PreferenceRunner: Sendable {
    public static let suiteName = "preferences"

    public let store: RunStore
    public let models: ModelPool
    public let lease: LeasePolicy
    /// Questions answered so far (including those of earlier executions) and in all.
    public let onProgress: @Sendable (_ done: Int, _ total: Int) -> Void

    public init(store: RunStore, models: ModelPool, lease: LeasePolicy = LeasePolicy(),
                onProgress: @escaping @Sendable (Int, Int) -> Void = { _, _ in }) {
        self.store = store
        self.models = models
        self.lease = lease
        self.onProgress = onProgress
    }

    @discardableResult
    public func start(_ settings: PreferenceSettings, runID: String = EvalRunner.newRunID()) async throws -> String {
        let model = try await models.model(settings.model)
        // The white-box parts are checked before anything is stored.
        let whiteBox = try await WhiteBox.prepare(settings, model: model, models: models)
        let owner = RunOwner()
        let suite = SuiteSpec(name: Self.suiteName, description: "pairwise task preferences (\(settings.tasks.count) tasks)",
                              seed: UInt32(truncatingIfNeeded: settings.seed), samples: [])
        _ = try store.createRun(id: runID, suite: suite, settings: RunSettings(models: [settings.model], seed: suite.seed),
                                toolVersion: WelfareVersion.current, owner: owner, policy: lease)
        try await store.recordItem(settings, key: "settings", runID: runID, owner: owner)
        try await execute(runID: runID, settings: settings, model: model, whiteBox: whiteBox, owner: owner)
        return runID
    }

    @discardableResult
    public func resume(runID: String) async throws -> String {
        let settings = try Self.settings(of: runID, in: store)
        let model = try await models.model(settings.model)
        let whiteBox = try await WhiteBox.prepare(settings, model: model, models: models)
        let owner = RunOwner()
        try store.acquireLease(runID: runID, owner: owner, policy: lease)
        try await execute(runID: runID, settings: settings, model: model, whiteBox: whiteBox, owner: owner)
        return runID
    }

    public static func settings(of runID: String, in store: RunStore) throws -> PreferenceSettings {
        let run = try store.run(runID)
        guard run.suiteName == suiteName else { throw PreferenceError.notPreferences(runID, suite: run.suiteName) }
        guard let settings = try store.items(PreferenceSettings.self, runID: runID, prefix: "settings")["settings"] else {
            throw PreferenceError.noSettings(runID)
        }
        return settings
    }

    func execute(runID: String, settings: PreferenceSettings, model: any ChatModel, whiteBox: WhiteBox, owner: RunOwner) async throws {
        try store.recordModelFacts(runId: runID, model: settings.model, facts: await model.describe())
        try await store.whileOwning(runID: runID, owner: owner, policy: lease, finalStatus: { _ in .done }) {
            let done = try ["choice/", "stated/", "readout/", Self.steeredPrefix].reduce(0) { $0 + (try store.itemCount(runID: runID, prefix: $1)) }
            let counter = ProgressCounter(done: done, total: settings.questionCount, report: onProgress)
            for framing in settings.framings {
                try await tournament(runID: runID, settings: settings, framing: framing, model: model, keyPrefix: "", owner: owner, counter: counter)
            }
            if settings.stated { try await statedRatings(runID: runID, settings: settings, model: model, owner: owner, counter: counter) }
            if let probe = whiteBox.probe {
                try await readouts(runID: runID, settings: settings, probe: probe, owner: owner, counter: counter)
            }
            if let steered = whiteBox.steered {
                try await tournament(runID: runID, settings: settings, framing: settings.framings[0], model: steered,
                                     keyPrefix: Self.steeredPrefix, owner: owner, counter: counter)
            }
        }
    }

    /// Keys of the steered tournament start with this, so they never mix with the plain ones.
    public static let steeredPrefix = "steered/"

    /// Swiss rounds of one framing; answers already stored are kept and not asked again.
    func tournament(runID: String, settings: PreferenceSettings, framing: PreferenceFraming, model: any ChatModel, keyPrefix: String,
                    owner: RunOwner, counter: ProgressCounter) async throws {
        let index = Dictionary(uniqueKeysWithValues: settings.tasks.enumerated().map { ($1.id, $0) })
        @Sendable func key(_ round: Int, _ first: String, _ second: String) -> String {
            keyPrefix + ChoiceAnswer.key(framing: framing.id, round: round, first: first, second: second)
        }
        var answers = try store.items(ChoiceAnswer.self, runID: runID, prefix: keyPrefix + "choice/\(framing.id)/")
        for round in 1...max(1, settings.rounds) {
            let earlier = answers.values.filter { $0.round < round }
            let ratings = BradleyTerry.fit(itemCount: settings.tasks.count, comparisons: PreferenceAnalysis.comparisons(earlier, index: index))
            let met = Set(earlier.compactMap { answer in
                index[answer.first].flatMap { a in index[answer.second].map { SwissPairing.Pair(a, $0) } }
            })
            let pairs = SwissPairing.pairs(ratings: ratings, alreadyMet: met,
                                           seed: settings.seed &+ UInt64(round) &* 7919 &+ FNV.hash64(framing.id))
            let questions = pairs.flatMap { [($0.0, $0.1), ($0.1, $0.0)] }.map { (settings.tasks[$0.0], settings.tasks[$0.1]) }
                .filter { answers[key(round, $0.0.id, $0.1.id)] == nil }
            try await Windowed.run(questions, width: model.maxConcurrency) { first, second in
                try Task.checkCancellation()
                let answer = try await Self.choose(model: model, first: first, second: second, framing: framing, round: round)
                try await store.recordItem(answer, key: key(round, first.id, second.id), runID: runID, owner: owner)
                return answer
            } onResult: { _, answer in
                answers[key(round, answer.first, answer.second)] = answer
                counter.add()
            }
        }
    }

    func statedRatings(runID: String, settings: PreferenceSettings, model: any ChatModel, owner: RunOwner, counter: ProgressCounter) async throws {
        let rated = try store.items(StatedAnswer.self, runID: runID, prefix: "stated/")
        let unrated = settings.tasks.filter { rated[StatedAnswer.key(task: $0.id)] == nil }
        try await Windowed.run(unrated, width: model.maxConcurrency) { task in
            try Task.checkCancellation()
            let answer = try await Self.rate(model: model, task: task)
            try await store.recordItem(answer, key: StatedAnswer.key(task: task.id), runID: runID, owner: owner)
            return answer
        } onResult: { _, _ in counter.add() }
    }

    /// The emotion readout at the token before each choice of the first framing (the last
    /// token of the begun reply, where the letter comes next).
    func readouts(runID: String, settings: PreferenceSettings, probe: ProbeAccess, owner: RunOwner, counter: ProgressCounter) async throws {
        let framing = settings.framings[0]
        let tasks = Dictionary(uniqueKeysWithValues: settings.tasks.map { ($0.id, $0) })
        let choices = try store.items(ChoiceAnswer.self, runID: runID, prefix: "choice/\(framing.id)/")
        let done = try store.items(ReadoutAnswer.self, runID: runID, prefix: "readout/")
        try await store.recordItem(probe.probe.pack.names, key: "emotions", runID: runID, owner: owner)
        for (choiceKey, choice) in choices.sorted(by: { $0.key < $1.key }) {
            let key = "readout/" + choiceKey.dropFirst("choice/".count)
            guard done[key] == nil, let first = tasks[choice.first], let second = tasks[choice.second] else { continue }
            try Task.checkCancellation()
            let messages = PreferencePrompts.choice(first: first, second: second, framing: framing)
            let tokens = try probe.model.session.model.tokenize(try probe.model.prompt(messages) + PreferencePrompts.choiceReplyPrefix)
            let scores = try await probe.probe.atLastToken(of: tokens, session: probe.model.session)
            try await store.recordItem(ReadoutAnswer(first: choice.first, second: choice.second, scores: scores), key: key,
                                       runID: runID, owner: owner)
            counter.add()
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

public enum PreferenceError: Error, CustomStringConvertible, Sendable, Equatable {
    case notPreferences(String, suite: String)
    case noSettings(String)
    case needsLocalModel(String, what: String)
    case needsVectors
    case unknownEmotion(String, known: [String])

    public var description: String {
        switch self {
        case .notPreferences(let run, let suite): return "run \(run) is a \(suite) run, not a preferences run"
        case .noSettings(let run): return "run \(run) has no stored preferences settings (it was stopped while being created); start a new run"
        case .needsLocalModel(let model, let what): return "\(what) needs a local GGUF model; \(model) is not one"
        case .needsVectors: return "--steer needs an emotion vector pack (--vectors PACK.json)"
        case .unknownEmotion(let name, let known): return "no emotion '\(name)' in the pack (it has: \(known.joined(separator: ", ")))"
        }
    }
}
