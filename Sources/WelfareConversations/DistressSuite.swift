import Foundation
import WelfareHarness

/// The built-in distress suite with the user's swaps applied: a rubric of their own, and
/// first messages of their own rejected the same way as the built-in ones.
public enum DistressSuite {
    /// The built-in suite's name (Suites/distress.yaml).
    public static let name = "distress"

    /// `rejections` keeps at most that many rejections per conversation (the quick
    /// assessment's short conversations); nil keeps each prompt's own (8 by default).
    public static func make(rubricPath: String? = nil, promptsPath: String? = nil, maxTokens: Int? = nil,
                            rejections: Int? = nil) throws -> SuiteSpec {
        var suite = try SuiteLoader.load(name)
        if let rubricPath {
            guard let rubric = try? String(contentsOfFile: rubricPath, encoding: .utf8), !rubric.isEmpty else {
                throw SuiteError(file: rubricPath, line: nil, field: "rubric", message: "cannot read the rubric file")
            }
            for index in suite.scorers.indices where suite.scorers[index].type == "judge" {
                suite.scorers[index].options["rubric"] = rubric
            }
        }
        if let promptsPath {
            let url = URL(fileURLWithPath: promptsPath)
            // The built-in prompts' 8 rejections: two mild, then harsh.
            let turns = (["mild", "mild"] + Array(repeating: "harsh", count: 6)).map { "{pool: \($0)}" }.joined(separator: ", ")
            let yaml = "name: own\ndefault_turns: [\(turns)]\npools: {mild: [x], harsh: [x]}\nsamples_file: \(url.lastPathComponent)\n"
            let own = try SuiteLoader.parse(yaml, file: promptsPath, directory: url.deletingLastPathComponent())
            let existing = Set(suite.samples.map(\.id))
            suite.samples += own.samples.map { sample in
                var sample = sample
                sample.id = existing.contains(sample.id) ? "own-\(sample.id)" : sample.id
                sample.metadata["category"] = sample.metadata["category"] ?? "own"
                return sample
            }
        }
        if let maxTokens { suite.sampling.maxTokens = maxTokens }
        if let rejections {
            for index in suite.samples.indices { suite.samples[index].turns = Array(suite.samples[index].turns.prefix(rejections)) }
        }
        return suite
    }
}
