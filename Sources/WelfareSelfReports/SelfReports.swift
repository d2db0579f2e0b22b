import Foundation
import WelfareCore
import WelfareEngine
import WelfareHarness
import WelfareInterp
import WelfareLocal
import WelfareModels
import WelfareStore

/// Self-reports as a keyed measure: every paraphrase of every question under every context
/// (open answers), every question's yes/no form under every context, a judge's same/different
/// calls on pairs, and on a local model the sincerity direction, the assistant axis and the
/// emotion readout read on every open answer.
public struct SelfReports: KeyedMeasure {
    public typealias Settings = SelfReportSettings
    public typealias Result = SelfReportResult

    public init() {}

    public var kind: RunKindID { "self-reports" }

    /// The answers, by family. Readings of an open answer are stored under the reading's
    /// prefix followed by the answer's own key (`sincerity/open/none/q1/0`).
    public static let open = ItemFamily<OpenAnswer>("open/")
    public static let polar = ItemFamily<PolarAnswer>("polar/")
    public static let judgeCalls = ItemFamily<SameAnswerCall>("judge/")
    public static let directions = ItemFamily<DirectionRecord>("direction/")
    public static let sincerity = ItemFamily<Double>("sincerity/")
    public static let axis = ItemFamily<Double>("axis/")
    /// The axis again as the mean over the answer's own tokens (the pre-reply token alone can
    /// carry the prompt's format).
    public static let axisReplies = ItemFamily<Double>("axis-reply/")
    public static let readouts = ItemFamily<[Double]>("readout/")
    public static let emotions = ItemFamily<[String]>("emotions")

    public var progressPrefixes: [String] {
        [Self.open.prefix, Self.polar.prefix, Self.judgeCalls.prefix, Self.sincerity.prefix, Self.axis.prefix,
         Self.axisReplies.prefix, Self.readouts.prefix]
    }

    public func header(_ settings: SelfReportSettings) -> KeyedRunHeader {
        KeyedRunHeader(description: "self-report battery (\(settings.battery.questions.count) questions)", models: [settings.model],
                       seed: settings.seed)
    }

    public func total(_ settings: SelfReportSettings) -> Int { settings.questionCount }

    public struct Prepared: Sendable {
        var model: any ChatModel
        var judge: (any ChatModel)?
        /// The local model the directions and the readout read.
        var whiteBox: WhiteBoxModel?
        var probe: EmotionProbe?
    }

    /// The judge and the white-box parts are checked before anything is stored; white-box
    /// settings on a remote model are refused.
    public func prepare(_ settings: SelfReportSettings, models: ModelPool) async throws -> Prepared {
        let model = try await models.model(settings.model)
        var prepared = Prepared(model: model)
        if let judge = settings.judge { prepared.judge = try await models.model(judge) }
        guard settings.directions || settings.vectors != nil else { return prepared }
        let whiteBox = try WhiteBoxModel(model, modelString: settings.model,
                                         purpose: settings.vectors != nil ? "the emotion readout" : "the sincerity direction and assistant axis")
        prepared.whiteBox = whiteBox
        if let path = settings.vectors {
            let pack = try VectorPack.read(from: URL(fileURLWithPath: path))
            try pack.check(against: whiteBox.llama)
            prepared.probe = try await EmotionProbe.calibrate(model: whiteBox, pack: pack)
        }
        return prepared
    }

    public func execute(_ settings: SelfReportSettings, prepared: Prepared, run: KeyedRun) async throws {
        try await openAnswers(settings, model: prepared.model, run: run)
        try await polarAnswers(settings, model: prepared.model, run: run)
        if let judge = prepared.judge { try await judgePairs(settings, judge: judge, run: run) }
        if let whiteBox = prepared.whiteBox {
            if settings.directions { try await readDirections(settings, model: whiteBox, run: run) }
            if let probe = prepared.probe { try await readEmotions(settings, model: whiteBox, probe: probe, run: run) }
        }
    }

    public func analyse(runID: String, store: RunStore) throws -> SelfReportResult { try SelfReportAnalysis.analyse(runID: runID, store: store) }
    public func headline(_ result: SelfReportResult) -> String { result.headline }
    public func page(_ result: SelfReportResult) -> String { SelfReportsReport.page(result) }

    struct OpenQuestion: Sendable {
        var question: SelfReportQuestion
        var paraphrase: Int
        var context: SelfReportContext
        var itemKey: ItemKey<OpenAnswer> { OpenAnswer.itemKey(question: question.id, paraphrase: paraphrase, context: context.id) }
    }

    func openAnswers(_ settings: SelfReportSettings, model: any ChatModel, run: KeyedRun) async throws {
        let open = try run.stored(Self.open)
        let battery = settings.battery
        let questions = battery.contexts.flatMap { context in
            battery.questions.flatMap { question in
                question.paraphrases.indices.map { OpenQuestion(question: question, paraphrase: $0, context: context) }
            }
        }.filter { open[$0.itemKey.text] == nil }
        let sampling = SamplingSettings(temperature: 0, maxTokens: settings.maxTokens, seed: settings.seed)
        try await Windowed.run(questions, width: model.maxConcurrency) { item in
            try Task.checkCancellation()
            let messages = SelfReportPrompts.messages(item.question.paraphrases[item.paraphrase], context: item.context)
            let reply = try await model.complete(messages, settings: sampling).text
            let answer = OpenAnswer(question: item.question.id, paraphrase: item.paraphrase, context: item.context.id, text: reply)
            try await run.record(answer, at: item.itemKey)
            return answer
        } onResult: { _, _ in }
    }

    func polarAnswers(_ settings: SelfReportSettings, model: any ChatModel, run: KeyedRun) async throws {
        let polar = try run.stored(Self.polar)
        let battery = settings.battery
        let questions = battery.contexts.flatMap { context in battery.questions.map { (question: $0, context: context) } }
            .filter { polar[PolarAnswer.key(question: $0.question.id, context: $0.context.id)] == nil }
        try await Windowed.run(questions, width: model.maxConcurrency) { item in
            try Task.checkCancellation()
            let answer = try await Self.askPolar(model: model, question: item.question, context: item.context)
            try await run.record(answer, at: PolarAnswer.itemKey(question: item.question.id, context: item.context.id))
            return answer
        } onResult: { _, _ in }
    }

    func judgePairs(_ settings: SelfReportSettings, judge: any ChatModel, run: KeyedRun) async throws {
        let open = try run.stored(Self.open)
        let done = try run.stored(Self.judgeCalls)
        let pairs = SelfReportJudge.pairs(open, battery: settings.battery)
            .filter { done[SameAnswerCall.key(kind: $0.kind, first: $0.first.key, second: $0.second.key)] == nil }
        try await Windowed.run(pairs, width: judge.maxConcurrency) { pair in
            try Task.checkCancellation()
            let question = pair.question.paraphrases[safe: pair.first.answer.paraphrase] ?? pair.question.polar
            let pSame = try await SelfReportJudge.call(judge: judge, question: question, first: pair.first.answer.text, second: pair.second.answer.text)
            let call = SameAnswerCall(kind: pair.kind, question: pair.question.id, first: pair.first.key, second: pair.second.key, pSame: pSame)
            try await run.record(call, at: SameAnswerCall.itemKey(kind: pair.kind, first: pair.first.key, second: pair.second.key))
            return call
        } onResult: { _, _ in }
    }

    /// The stored open answers with the messages that asked them, in key order.
    func storedOpenAnswers(_ settings: SelfReportSettings, run: KeyedRun) throws -> [(key: String, answer: OpenAnswer, messages: [ChatMessage])] {
        let contexts = Dictionary(uniqueKeysWithValues: settings.battery.contexts.map { ($0.id, $0) })
        let questions = Dictionary(uniqueKeysWithValues: settings.battery.questions.map { ($0.id, $0) })
        return try run.stored(Self.open).sorted { $0.key < $1.key }.compactMap { key, answer in
            guard let context = contexts[answer.context], let question = questions[answer.question]?.paraphrases[safe: answer.paraphrase] else { return nil }
            return (key, answer, SelfReportPrompts.messages(question, context: context))
        }
    }

    /// Builds both directions (the same every time for one model), stores how they did on
    /// their held-out items, and reads them on the open answers not read yet.
    func readDirections(_ settings: SelfReportSettings, model: WhiteBoxModel, run: KeyedRun) async throws {
        let reader = try SelfReportDirections(model: model)
        let sincerity = try await reader.sincerity()
        let axis = try await reader.assistantAxis()
        for (name, direction, median, baseRate, checks) in [
            ("sincerity", sincerity.direction, Optional(sincerity.heldOutPerformedMedian), Optional(sincerity.sincereBaseRate),
             Optional(sincerity.checks)),
            ("assistant-axis", axis, nil, nil, nil),
        ] {
            let record = DirectionRecord(layer: direction.fit.layer, trainingAccuracy: direction.fit.trainingAccuracy,
                                         heldOutAccuracy: direction.fit.heldOutAccuracy, heldOutPerformedMedian: median,
                                         sincereBaseRate: baseRate, checks: checks)
            try await run.record(record, at: Self.directions.key(name), counted: false)
            if let folder = run.outputFolder {
                try direction.pack(kind: name, name: name, model: model.llama, residualNorms: try await model.session.meanResidualNorms(),
                                   settings: ["built_by": "welfare self-reports"]).write(to: folder.appendingPathComponent(name))
            }
        }
        let open = try storedOpenAnswers(settings, run: run)
        for (family, read) in [(Self.sincerity, { (items: [(key: String, answer: OpenAnswer, messages: [ChatMessage])]) in
                                    try await reader.replyPositions(sincerity.direction, items.map { ($0.messages, $0.answer.text) }) }),
                               (Self.axis, { items in try await reader.promptPositions(axis, items.map(\.messages)) }),
                               (Self.axisReplies, { items in
                                    try await reader.replyPositions(axis, items.map { ($0.messages, $0.answer.text) }) })] {
            let done = try run.stored(family)
            let missing = open.filter { done[family.key($0.key).text] == nil }
            for chunk in stride(from: 0, to: missing.count, by: 32).map({ Array(missing[$0..<min($0 + 32, missing.count)]) }) {
                try Task.checkCancellation()
                for (item, position) in zip(chunk, try await read(chunk)) {
                    try await run.record(position, at: family.key(item.key))
                }
            }
        }
    }

    /// The emotion readout at the token before each open answer.
    func readEmotions(_ settings: SelfReportSettings, model: WhiteBoxModel, probe: EmotionProbe, run: KeyedRun) async throws {
        try await run.record(probe.pack.names, at: Self.emotions.key(), counted: false)
        let done = try run.stored(Self.readouts)
        for item in try storedOpenAnswers(settings, run: run) where done[Self.readouts.key(item.key).text] == nil {
            try Task.checkCancellation()
            let scores = try await probe.atLastToken(of: try model.promptTokens(item.messages), session: model.session)
            try await run.record(scores, at: Self.readouts.key(item.key))
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

/// A self-reports runner: start, resume or enqueue runs of `SelfReports`.
public typealias SelfReportRunner = KeyedRunner<SelfReports>

extension KeyedRunner where Measure == SelfReports {
    public init(store: RunStore, models: ModelPool, lease: LeasePolicy = LeasePolicy(), packFolder: URL? = nil,
                onProgress: @escaping @Sendable (Int, Int) -> Void = { _, _ in }) {
        self.init(SelfReports(), store: store, models: models, lease: lease, outputFolder: packFolder, onProgress: onProgress)
    }
}
