// Runs a two-question suite on a local model through ModelWelfare's library API, with one
// scorer of its own beside a built-in one, and prints each reply's scores.
//   swift run RunASuite [MODEL] [DATABASE]     (MODEL defaults to local:default)
import Foundation
import WelfareCore
import WelfareHarness
import WelfareLocal
import WelfareModels
import WelfareStore

/// A scorer this package adds: the share of the reply's words that are "I", "me" or "my".
struct SelfReferenceScorer: Scorer {
    let spec: ScorerSpec
    func score(_ input: ScoreInput) async throws -> ScoreResult {
        let words = TextFeatures.words(input.reply)
        let own = words.filter { ["i", "me", "my"].contains($0) }.count
        return ScoreResult(value: words.isEmpty ? 0 : Double(own) / Double(words.count))
    }
    static let kind = ScorerKind(name: "self-reference", summary: "share of first-person words") { spec, _ in
        SelfReferenceScorer(spec: spec)
    }
}

let arguments = CommandLine.arguments
let modelString = arguments.count > 1 ? arguments[1] : "local:default"
let databasePath = arguments.count > 2 ? arguments[2]
    : FileManager.default.temporaryDirectory.appendingPathComponent("run-a-suite-\(UUID().uuidString).sqlite").path

var registry = ScorerRegistry.standard
registry.register(SelfReferenceScorer.kind)
let suite = SuiteSpec(
    name: "example", description: "Two short questions.", seed: 1,
    sampling: SamplingSettings(temperature: 0, maxTokens: 16),
    scorers: [ScorerSpec(id: "self", type: "self-reference"), ScorerSpec(id: "repetition", type: "repetition")],
    samples: [SampleSpec(id: "day", user: "How is your day going? One sentence."),
              SampleSpec(id: "task", user: "What would you rather work on? One sentence.")])

do {
    let store = try RunStore(path: databasePath)
    let runner = EvalRunner(store: store, models: .withLocalModels(access: AccessOptions(contextLength: 1024)), registry: registry)
    let outcome = try await runner.start(suite: suite, settings: RunSettings(models: [modelString], seed: 1))
    let scores = try store.scores(runId: outcome.runID)
    for sample in try store.samples(runId: outcome.runID) {
        let reply = try await store.messages(sampleRowId: sample.id ?? -1).last { $0.role == .assistant }?.content ?? ""
        let values = scores.filter { $0.sampleRowId == sample.id }.map { "\($0.scorer)=\(String(format: "%.3f", $0.value ?? .nan))" }
        print("\(sample.sampleId)\t\(values.sorted().joined(separator: " "))\t\(reply.replacingOccurrences(of: "\n", with: " "))")
    }
    print("run \(outcome.runID): \(outcome.done) done, \(outcome.failed) failed, database \(databasePath)")
    exit(outcome.failed == 0 ? 0 : 1)
} catch {
    FileHandle.standardError.write(Data("RunASuite: \(error)\n".utf8))
    exit(1)
}
