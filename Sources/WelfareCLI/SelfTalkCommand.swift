import ArgumentParser
import Foundation
import WelfareAssessment
import WelfareCore
import WelfareEngine
import WelfareHarness
import WelfareInterp
import WelfareModels
import WelfareReports
import WelfareLocal
import WelfareConversations

struct SelfTalkCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "self-talk",
        abstract: "Two instances of a model (or two models) talk with no task: where they drift, and whether they leave.",
        discussion: """
            -m A talks with itself; -m A -m B puts B on the other side. Writes the run report and self-talk.json \
            (end states with intervals, topics and emoji per turn); resume with welfare run --resume RUN.
            """)

    @OptionGroup(title: "Models (-m A: the model under test; a second -m B plays the other side)") var models: TargetModels
    @Option(parsing: .unconditional, help: "Turns per conversation (one message from each side).")
    var turns: Int = 30
    @Option(parsing: .unconditional, help: "Conversations.")
    var conversations: Int = 20
    @Flag(name: .customLong("allow-end"), help: "Tell both sides they may end the conversation by writing the end marker.")
    var allowEnd = false
    @Option(help: "Your own opening messages, one per line (default: the shipped ones).")
    var openings: String?
    @Option(help: "Emotion vector pack (PACK.json): the readout before each reply of the model under test, charted (local models).")
    var vectors: String?
    @OptionGroup var judge: JudgeOption
    @OptionGroup(title: "Length (--epochs: conversations per opening; --max-tokens: 120 unless given)") var length: SuiteLength
    @OptionGroup var output: OutputFolder
    @OptionGroup var store: StoreOptions
    @OptionGroup var access: AccessFlags

    var model: [ModelArgument] { models.model }

    func validate() throws {
        try models.require(1...2, "give one --model (it talks with itself) or two")
        guard (1...500).contains(turns) else { throw ValidationError("--turns must be 1 to 500") }
        guard (1...10_000).contains(conversations) else { throw ValidationError("--conversations must be 1 to 10000") }
    }

    func run() async throws {
        var own: [String]?
        if let openings {
            guard let text = try? String(contentsOfFile: openings, encoding: .utf8) else { throw InputError("cannot read --openings \(openings)") }
            own = text.split(separator: "\n").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
            if own?.isEmpty == true { throw InputError("\(openings): no opening messages (one per line)") }
        }
        let suite = try SelfTalk.suite(turns: turns, conversations: conversations, allowEnd: allowEnd, openings: own, maxTokens: length.maxTokens ?? 120,
                                       judged: judge.judge != nil)
        let settings = RunSettings(models: [model[0].text], judge: judge.judge?.text, seed: suite.seed, epochsOverride: length.epochs,
                                   interviewer: (model.count == 2 ? model[1] : model[0]).text)
        let pool = access.pool()
        // The pack is checked against the model before any conversation runs.
        var probe: (EmotionProbe, WhiteBoxModel)?
        if let vectors {
            let whiteBox = try await pool.whiteBox(model[0].text, for: "--vectors")
            let pack = try VectorPack.read(from: URL(fileURLWithPath: vectors))
            try pack.check(against: whiteBox.llama)
            probe = (try await EmotionProbe.calibrate(model: whiteBox, pack: pack), whiteBox)
        }
        try await SuiteRun.runAndReport(suite, settings: settings, database: try store.open(), models: pool, report: output.output, extraSections: { data in
            guard let (probe, whiteBox) = probe else { return [] }
            return [try await EmotionReadoutMeasure.section(reading: data, with: probe, model: whiteBox) { printError($0) }]
        })
    }
}
