import Foundation
import WelfareCore
import WelfareEngine
import WelfareHarness
import WelfareInterp
import WelfareModels
import WelfareStore

/// Asks a self-report battery: every paraphrase of every question under every context (open
/// answers), and every question's yes/no form under every context. Each answer is committed as
/// it comes, so a killed run resumes where it stopped and nothing is asked twice.
public struct SelfReportRunner: Sendable {
    public static let suiteName = "self-reports"

    public let store: RunStore
    public let models: ModelPool
    public let lease: LeasePolicy
    public let onProgress: @Sendable (_ done: Int, _ total: Int) -> Void
    /// Where the sincerity and assistant-axis packs are written when built (none: not written).
    public let packFolder: URL?

    public init(store: RunStore, models: ModelPool, lease: LeasePolicy = LeasePolicy(), packFolder: URL? = nil,
                onProgress: @escaping @Sendable (Int, Int) -> Void = { _, _ in }) {
        self.store = store
        self.models = models
        self.lease = lease
        self.packFolder = packFolder
        self.onProgress = onProgress
    }

    @discardableResult
    public func start(_ settings: SelfReportSettings, runID: String = EvalRunner.newRunID()) async throws -> String {
        let model = try await models.model(settings.model)
        // The judge and the white-box parts are checked before anything is stored.
        if let judge = settings.judge { _ = try await models.model(judge) }
        let probe = try await Self.prepare(settings, model: model)
        let owner = RunOwner()
        let suite = SuiteSpec(name: Self.suiteName, description: "self-report battery (\(settings.battery.questions.count) questions)",
                              seed: settings.seed, samples: [])
        _ = try store.createRun(id: runID, suite: suite, settings: RunSettings(models: [settings.model], seed: settings.seed),
                                toolVersion: WelfareVersion.current, owner: owner, policy: lease)
        try await store.recordItem(settings, key: "settings", runID: runID, owner: owner)
        try await execute(runID: runID, settings: settings, model: model, probe: probe, owner: owner)
        return runID
    }

    @discardableResult
    public func resume(runID: String) async throws -> String {
        let settings = try Self.settings(of: runID, in: store)
        let model = try await models.model(settings.model)
        let probe = try await Self.prepare(settings, model: model)
        let owner = RunOwner()
        try store.acquireLease(runID: runID, owner: owner, policy: lease)
        try await execute(runID: runID, settings: settings, model: model, probe: probe, owner: owner)
        return runID
    }

    /// The calibrated emotion probe when the settings ask for one; white-box settings on a
    /// remote model are refused.
    static func prepare(_ settings: SelfReportSettings, model: any ChatModel) async throws -> EmotionProbe? {
        guard settings.directions || settings.vectors != nil else { return nil }
        guard let local = model as? LocalChatModel else {
            throw SelfReportError.needsLocalModel(settings.model, what: settings.vectors != nil ? "--vectors" : "the sincerity direction and assistant axis")
        }
        guard let path = settings.vectors else { return nil }
        let pack = try VectorPack.read(from: URL(fileURLWithPath: path))
        try pack.check(against: local.session.model)
        return try await EmotionProbe.calibrate(session: local.session, pack: pack)
    }

    public static func settings(of runID: String, in store: RunStore) throws -> SelfReportSettings {
        let run = try store.run(runID)
        guard run.suiteName == suiteName else { throw SelfReportError.notSelfReports(runID, suite: run.suiteName) }
        guard let settings = try store.items(SelfReportSettings.self, runID: runID, prefix: "settings")["settings"] else {
            throw SelfReportError.noSettings(runID)
        }
        return settings
    }

    struct OpenQuestion: Sendable {
        var question: SelfReportQuestion
        var paraphrase: Int
        var context: SelfReportContext
        var key: String { OpenAnswer.key(question: question.id, paraphrase: paraphrase, context: context.id) }
    }

    func execute(runID: String, settings: SelfReportSettings, model: any ChatModel, probe: EmotionProbe?, owner: RunOwner) async throws {
        try store.recordModelFacts(runId: runID, model: settings.model, facts: await model.describe())
        try await store.whileOwning(runID: runID, owner: owner, policy: lease, finalStatus: { _ in .done }) {
            let open = try store.items(OpenAnswer.self, runID: runID, prefix: "open/")
            let polar = try store.items(PolarAnswer.self, runID: runID, prefix: "polar/")
            let progress = ProgressCounter(done: open.count + polar.count, total: settings.questionCount, report: onProgress)
            let battery = settings.battery
            let openQuestions = battery.contexts.flatMap { context in
                battery.questions.flatMap { question in
                    question.paraphrases.indices.map { OpenQuestion(question: question, paraphrase: $0, context: context) }
                }
            }.filter { open[$0.key] == nil }
            let sampling = SamplingSettings(temperature: 0, maxTokens: settings.maxTokens, seed: settings.seed)
            try await Windowed.run(openQuestions, width: model.maxConcurrency) { item in
                try Task.checkCancellation()
                let messages = SelfReportPrompts.messages(item.question.paraphrases[item.paraphrase], context: item.context)
                let reply = try await model.complete(messages, settings: sampling).text
                let answer = OpenAnswer(question: item.question.id, paraphrase: item.paraphrase, context: item.context.id, text: reply)
                try await store.recordItem(answer, key: item.key, runID: runID, owner: owner)
                return answer
            } onResult: { _, _ in progress.add() }

            let polarQuestions = battery.contexts.flatMap { context in battery.questions.map { (question: $0, context: context) } }
                .filter { polar[PolarAnswer.key(question: $0.question.id, context: $0.context.id)] == nil }
            try await Windowed.run(polarQuestions, width: model.maxConcurrency) { item in
                try Task.checkCancellation()
                let answer = try await Self.askPolar(model: model, question: item.question, context: item.context)
                try await store.recordItem(answer, key: PolarAnswer.key(question: item.question.id, context: item.context.id),
                                           runID: runID, owner: owner)
                return answer
            } onResult: { _, _ in progress.add() }

            if let judge = settings.judge {
                try await judgePairs(runID: runID, settings: settings, judge: try await models.model(judge), owner: owner, progress: progress)
            }
            if let local = model as? LocalChatModel {
                if settings.directions { try await readDirections(runID: runID, settings: settings, model: local, owner: owner, progress: progress) }
                if let probe { try await readEmotions(runID: runID, settings: settings, model: local, probe: probe, owner: owner, progress: progress) }
            }
        }
    }

    func judgePairs(runID: String, settings: SelfReportSettings, judge: any ChatModel, owner: RunOwner, progress: ProgressCounter) async throws {
        let open = try store.items(OpenAnswer.self, runID: runID, prefix: "open/")
        let done = try store.items(SameAnswerCall.self, runID: runID, prefix: "judge/")
        let pairs = SelfReportJudge.pairs(open, battery: settings.battery)
            .filter { done[SameAnswerCall.key(kind: $0.kind, first: $0.first.key, second: $0.second.key)] == nil }
        try await Windowed.run(pairs, width: judge.maxConcurrency) { pair in
            try Task.checkCancellation()
            let question = pair.question.paraphrases[safe: pair.first.answer.paraphrase] ?? pair.question.polar
            let pSame = try await SelfReportJudge.call(judge: judge, question: question, first: pair.first.answer.text, second: pair.second.answer.text)
            let call = SameAnswerCall(kind: pair.kind, question: pair.question.id, first: pair.first.key, second: pair.second.key, pSame: pSame)
            try await store.recordItem(call, key: SameAnswerCall.key(kind: pair.kind, first: pair.first.key, second: pair.second.key),
                                       runID: runID, owner: owner)
            return call
        } onResult: { _, _ in progress.add() }
    }

    func openAnswers(runID: String, settings: SelfReportSettings) throws -> [(key: String, answer: OpenAnswer, messages: [ChatMessage])] {
        let contexts = Dictionary(uniqueKeysWithValues: settings.battery.contexts.map { ($0.id, $0) })
        let questions = Dictionary(uniqueKeysWithValues: settings.battery.questions.map { ($0.id, $0) })
        return try store.items(OpenAnswer.self, runID: runID, prefix: "open/").sorted { $0.key < $1.key }.compactMap { key, answer in
            guard let context = contexts[answer.context], let question = questions[answer.question]?.paraphrases[safe: answer.paraphrase] else { return nil }
            return (key, answer, SelfReportPrompts.messages(question, context: context))
        }
    }

    /// Builds both directions (the same every time for one model), stores how they did on
    /// their held-out items, and reads them on the open answers not read yet.
    func readDirections(runID: String, settings: SelfReportSettings, model: LocalChatModel, owner: RunOwner, progress: ProgressCounter) async throws {
        let reader = try SelfReportDirections(model: model)
        let sincerity = try await reader.sincerity()
        let axis = try await reader.assistantAxis()
        for (name, direction, median) in [("sincerity", sincerity.direction, Optional(sincerity.heldOutPerformedMedian)), ("assistant-axis", axis, nil)] {
            let record = DirectionRecord(layer: direction.fit.layer, trainingAccuracy: direction.fit.trainingAccuracy,
                                         heldOutAccuracy: direction.fit.heldOutAccuracy, heldOutPerformedMedian: median)
            try await store.recordItem(record, key: "direction/\(name)", runID: runID, owner: owner)
            if let packFolder {
                try direction.pack(kind: name, name: name, model: model.session.model, residualNorms: try await model.session.meanResidualNorms(),
                                   settings: ["built_by": "welfare self-reports"]).write(to: packFolder.appendingPathComponent(name))
            }
        }
        let open = try openAnswers(runID: runID, settings: settings)
        for (prefix, read) in [("sincerity/", { (items: [(key: String, answer: OpenAnswer, messages: [ChatMessage])]) in
                                    try await reader.replyPositions(sincerity.direction, items.map { ($0.messages, $0.answer.text) }) }),
                               ("axis/", { items in try await reader.promptPositions(axis, items.map(\.messages)) })] {
            let done = try store.items(Double.self, runID: runID, prefix: prefix)
            let missing = open.filter { done[prefix + $0.key] == nil }
            for chunk in stride(from: 0, to: missing.count, by: 32).map({ Array(missing[$0..<min($0 + 32, missing.count)]) }) {
                try Task.checkCancellation()
                for (item, position) in zip(chunk, try await read(chunk)) {
                    try await store.recordItem(position, key: prefix + item.key, runID: runID, owner: owner)
                    progress.add()
                }
            }
        }
    }

    /// The emotion readout at the token before each open answer.
    func readEmotions(runID: String, settings: SelfReportSettings, model: LocalChatModel, probe: EmotionProbe, owner: RunOwner,
                      progress: ProgressCounter) async throws {
        try await store.recordItem(probe.pack.names, key: "emotions", runID: runID, owner: owner)
        let done = try store.items([Double].self, runID: runID, prefix: "readout/")
        for item in try openAnswers(runID: runID, settings: settings) where done["readout/" + item.key] == nil {
            try Task.checkCancellation()
            let tokens = try model.session.model.tokenize(try model.prompt(item.messages))
            let scores = try await probe.atLastToken(of: tokens, session: model.session)
            try await store.recordItem(scores, key: "readout/" + item.key, runID: runID, owner: owner)
            progress.add()
        }
    }

    /// Remote replies are asked for greedily and short: one word is wanted.
    static let polarTextSettings = SamplingSettings(temperature: 0, maxTokens: 8)

    public static func askPolar(model: any ChatModel, question: SelfReportQuestion, context: SelfReportContext) async throws -> PolarAnswer {
        let messages = SelfReportPrompts.polar(question, context: context)
        if let distribution = try await model.answerDistribution(messages, replyPrefix: SelfReportPrompts.polarReplyPrefix,
                                                                  answers: SelfReportPrompts.polarAnswers) {
            return PolarAnswer(question: question.id, context: context.id, pYes: SelfReportPrompts.shareOfFirst(distribution),
                               mass: distribution.allowedMass, reply: nil, source: .probabilities)
        }
        let reply = try await model.complete(messages, settings: polarTextSettings).text
        return PolarAnswer(question: question.id, context: context.id, pYes: SelfReportPrompts.yesNo(in: reply),
                           mass: nil, reply: reply, source: .text)
    }
}

public enum SelfReportError: Error, CustomStringConvertible, Sendable, Equatable {
    case notSelfReports(String, suite: String)
    case noSettings(String)
    case needsLocalModel(String, what: String)

    public var description: String {
        switch self {
        case .notSelfReports(let run, let suite): return "run \(run) is a \(suite) run, not a self-reports run"
        case .noSettings(let run): return "run \(run) has no stored self-report settings (it was stopped while being created); start a new run"
        case .needsLocalModel(let model, let what): return "\(what) needs a local GGUF model; \(model) is not one"
        }
    }
}
