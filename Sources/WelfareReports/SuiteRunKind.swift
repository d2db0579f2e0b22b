import Foundation
import WelfareCore
import WelfareHarness
import WelfareStore

/// Runs of a suite's conversations as a kind of run: resumed by the eval runner, executed by
/// workers a sample at a time, reported by `RunReport`, exported as JSON, CSV or Inspect AI
/// eval logs.
public struct SuiteRunKind: RunKind {
    /// What the measures of conversations add to the report of a run of theirs.
    public let sections: [RunReportSection]

    public init(sections: [RunReportSection] = []) { self.sections = sections }

    public var id: RunKindID { .suite }
    public var executedWhole: Bool { false }

    public func resume(runID: String, in environment: RunEnvironment) async throws -> ResumeOutcome {
        let runner = EvalRunner(store: environment.store, models: environment.models, registry: environment.scorers, lease: environment.lease,
                                onCreating: environment.onCreating, onProgress: environment.onRunProgress)
        let outcome = try await runner.resume(runID: runID)
        let lines = outcome.skippedScorers.map { "note: scorer \($0) not run (no --judge)" } + outcome.errors.prefix(5).map { "failed: \($0)" }
            + ["run \(outcome.runID): \(outcome.done) samples done, \(outcome.failed) not done"]
        return ResumeOutcome(runID: runID, lines: lines, unfinished: outcome.failed)
    }

    public func executeQueued(runID: String, owner: RunOwner, in environment: RunEnvironment) async throws {
        // Workers claim a suite run's samples one at a time (`RunStore.claimSample`).
        try? environment.store.releaseRun(runID: runID, owner: owner, status: .queued)
    }

    public func writeReport(runID: String, store: RunStore, to folder: URL) throws -> [URL] {
        try RunReport.write(try RunData(store: store, runID: runID), to: folder, sections: sections)
    }

    public func page(runID: String, store: RunStore) throws -> String { RunReport.render(try RunData(store: store, runID: runID), sections: sections) }

    public func summary(runID: String, store: RunStore) throws -> [String] {
        let data = try RunData(store: store, runID: runID)
        var lines: [String] = []
        for model in data.models {
            let samples = data.samples(model: model)
            lines.append("\(model): \(samples.filter { $0.record.status == .done }.count)/\(samples.count) samples done")
            for scorer in data.scorerIDs {
                lines.append("  \(scorer): \(RunData.meanEstimate(samples, scorer: scorer).formatted)")
            }
        }
        return lines
    }

    public func progress(runID: String, store: RunStore) throws -> String {
        let samples = try store.samples(runId: runID)
        return "\(samples.filter { $0.status == .done }.count)/\(samples.count) samples"
    }

    public func export(runID: String, store: RunStore, format: ExportFormat) throws -> [(name: String, content: Data)] {
        let data = try RunData(store: store, runID: runID)
        let base = "run-\(data.run.id)"
        switch format {
        case .json: return [("\(base).json", try Exports.json(data))]
        case .csv: return [("\(base)-samples.csv", Data(Exports.samplesCSV(data).utf8)), ("\(base)-scores.csv", Data(Exports.scoresCSV(data).utf8))]
        case .inspect: return try data.models.map { (InspectLog.fileName(data, model: $0), try InspectLog.json(data, model: $0)) }
        }
    }
}
