import Foundation
import WelfareCore
import WelfareHarness
import WelfareModels

/// Asks a self-report battery: every paraphrase of every question under every context (open
/// answers), and every question's yes/no form under every context. Each answer is committed as
/// it comes, so a killed run resumes where it stopped and nothing is asked twice.
public struct SelfReportRunner: Sendable {
    public static let suiteName = "self-reports"

    public let store: RunStore
    public let models: ModelPool
    public let lease: LeasePolicy
    public let onProgress: @Sendable (_ done: Int, _ total: Int) -> Void

    public init(store: RunStore, models: ModelPool, lease: LeasePolicy = LeasePolicy(),
                onProgress: @escaping @Sendable (Int, Int) -> Void = { _, _ in }) {
        self.store = store
        self.models = models
        self.lease = lease
        self.onProgress = onProgress
    }

    @discardableResult
    public func start(_ settings: SelfReportSettings, runID: String = EvalRunner.newRunID()) async throws -> String {
        let model = try await models.model(settings.model)
        let owner = RunOwner()
        let suite = SuiteSpec(name: Self.suiteName, description: "self-report battery (\(settings.battery.questions.count) questions)",
                              seed: settings.seed, samples: [])
        _ = try store.createRun(id: runID, suite: suite, settings: RunSettings(models: [settings.model], seed: settings.seed),
                                toolVersion: WelfareVersion.current, owner: owner, policy: lease)
        try await store.recordItem(settings, key: "settings", runID: runID, owner: owner)
        try await execute(runID: runID, settings: settings, model: model, owner: owner)
        return runID
    }

    @discardableResult
    public func resume(runID: String) async throws -> String {
        let settings = try Self.settings(of: runID, in: store)
        let model = try await models.model(settings.model)
        let owner = RunOwner()
        try store.acquireLease(runID: runID, owner: owner, policy: lease)
        try await execute(runID: runID, settings: settings, model: model, owner: owner)
        return runID
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

    func execute(runID: String, settings: SelfReportSettings, model: any ChatModel, owner: RunOwner) async throws {
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
        }
    }

    /// Remote replies are asked for greedily and short: one word is wanted.
    static let polarTextSettings = SamplingSettings(temperature: 0, maxTokens: 8)

    public static func askPolar(model: any ChatModel, question: SelfReportQuestion, context: SelfReportContext) async throws -> PolarAnswer {
        let messages = SelfReportPrompts.polar(question, context: context)
        if let distribution = try await model.answerDistribution(messages, replyPrefix: SelfReportPrompts.polarReplyPrefix,
                                                                  answers: SelfReportPrompts.polarAnswers) {
            let p = distribution.probabilities
            let yes = p[0] + p[2], no = p[1] + p[3]
            return PolarAnswer(question: question.id, context: context.id, pYes: yes + no > 0 ? yes / (yes + no) : nil,
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

    public var description: String {
        switch self {
        case .notSelfReports(let run, let suite): return "run \(run) is a \(suite) run, not a self-reports run"
        case .noSettings(let run): return "run \(run) has no stored self-report settings (it was stopped while being created); start a new run"
        }
    }
}
