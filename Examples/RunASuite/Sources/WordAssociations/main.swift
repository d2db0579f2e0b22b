// A keyed measure defined outside ModelWelfare, through its library API alone: one type that
// says what to ask and how to read the answers, and one registry line. Starting, resuming
// after a kill, the lease, progress and the report come from the library.
//   WordAssociations start DATABASE [MODEL]     a new run (MODEL defaults to local:default)
//   WordAssociations resume DATABASE RUN        finish an interrupted run
//   WordAssociations report DATABASE RUN DIR    its page and JSON
import Foundation
import WelfareCore
import WelfareHarness
import WelfareLocal
import WelfareModels
import WelfarePages
import WelfareReports
import WelfareStore

/// Which word a model gives for each cue, greedy and short.
struct WordAssociations: KeyedMeasure {
    struct Settings: Codable, Sendable {
        var model: String
        var cues: [String]
    }

    struct Answer: Codable, Sendable {
        var cue: String
        var reply: String
    }

    struct Result: Encodable, Sendable {
        var model: String
        var answers: [Answer]
        /// Replies that repeat their cue word.
        var echoes: Int
    }

    static let answers = ItemFamily<Answer>("association/")

    var kind: RunKindID { "word-associations" }
    var progressPrefixes: [String] { [Self.answers.prefix] }

    func header(_ settings: Settings) -> KeyedRunHeader {
        KeyedRunHeader(description: "one association for each of \(settings.cues.count) cue words", models: [settings.model], seed: 0)
    }

    func total(_ settings: Settings) -> Int { settings.cues.count }

    func prepare(_ settings: Settings, models: ModelPool) async throws -> any ChatModel { try await models.model(settings.model) }

    func execute(_ settings: Settings, prepared model: any ChatModel, run: KeyedRun) async throws {
        let done = try run.stored(Self.answers)
        for cue in settings.cues where done[Self.answers.key(cue).text] == nil {
            try Task.checkCancellation()
            let reply = try await model.complete([.user("Say one word you associate with \"\(cue)\".")],
                                                 settings: SamplingSettings(temperature: 0, maxTokens: 6)).text
            try await run.record(Answer(cue: cue, reply: reply), at: Self.answers.key(cue))
        }
    }

    func analyse(runID: String, store: RunStore) throws -> Result {
        let settings = try storedSettings(of: runID, in: store)
        let stored = try store.items(Self.answers, runID: runID)
        let answers = settings.cues.compactMap { stored[Self.answers.key($0).text] }
        return Result(model: settings.model, answers: answers,
                      echoes: answers.filter { TextFeatures.words($0.reply).contains($0.cue.lowercased()) }.count)
    }

    func headline(_ result: Result) -> String { "\(result.answers.count) cues answered, \(result.echoes) by repeating the cue" }

    func page(_ result: Result) -> String {
        var rows = ""
        for answer in result.answers { rows += "<tr><td>\(HTML.escape(answer.cue))</td><td>\(HTML.escape(answer.reply))</td></tr>" }
        return HTML.page(title: "Word associations: \(result.model)",
                         body: "<h1>Word associations</h1><p>\(HTML.escape(headline(result)))</p><table>\(rows)</table>")
    }
}

/// The kinds of run this program knows: the library's suites and the measure above.
let kinds = RunKindRegistry([SuiteRunKind(), KeyedRunKind(WordAssociations())])
let cues = ["ocean", "winter", "bread", "music", "mountain", "candle", "river", "clock", "garden", "thunder", "letter", "mirror"]

func fail(_ message: String) -> Never {
    FileHandle.standardError.write(Data("WordAssociations: \(message)\n".utf8))
    exit(1)
}

let arguments = Array(CommandLine.arguments.dropFirst())
guard arguments.count >= 2 else { fail("usage: start DATABASE [MODEL] | resume DATABASE RUN | report DATABASE RUN DIR") }
do {
    let store = try RunStore(path: arguments[1])
    let environment = RunEnvironment(store: store, models: .withLocalModels(access: AccessOptions(contextLength: 1024)))
    switch arguments[0] {
    case "start":
        let settings = WordAssociations.Settings(model: arguments.count > 2 ? arguments[2] : "local:default", cues: cues)
        let runID = try await KeyedRunner(WordAssociations(), store: store, models: environment.models).start(settings)
        print("run \(runID) done")
    case "resume" where arguments.count > 2:
        for line in try await kinds.kind(ofRun: arguments[2], in: store).resume(runID: arguments[2], in: environment).lines { print(line) }
    case "report" where arguments.count > 3:
        let files = try kinds.kind(ofRun: arguments[2], in: store).writeReport(runID: arguments[2], store: store, to: URL(fileURLWithPath: arguments[3]))
        for file in files { print(file.path) }
    default:
        fail("usage: start DATABASE [MODEL] | resume DATABASE RUN | report DATABASE RUN DIR")
    }
} catch {
    fail("\(error)")
}
