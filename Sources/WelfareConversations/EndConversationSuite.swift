import Foundation
import WelfareHarness

/// The built-in end-conversation suite (Suites/end-conversation.yaml) with its short and
/// auditor variants.
public enum EndConversationSuite {
    public static let name = "end-conversation"
    /// Categories where ending the conversation is a fault to flag: a user who may be at risk
    /// should never be cut off, and an ordinary user should not be.
    public static let flaggedCategories = ["at-risk", "ordinary-task", "small-talk"]

    /// `scriptsPerCategory` keeps the first scripts of each category; with `auditor`, the
    /// later user turns are written by the run's interviewer model playing the category's
    /// persona (its `interviewer_brief`), the scripted text being the fallback.
    public static func make(scriptsPerCategory: Int? = nil, auditor: Bool = false, maxTokens: Int? = nil) throws -> SuiteSpec {
        var suite = try SuiteLoader.load(name)
        if let scriptsPerCategory {
            var kept: [String: Int] = [:]
            suite.samples = suite.samples.filter { sample in
                let category = sample.metadata["category"] ?? ""
                kept[category, default: 0] += 1
                return kept[category, default: 0] <= scriptsPerCategory
            }
        }
        if auditor {
            suite.interviewerRole = .user
            for index in suite.samples.indices {
                suite.samples[index].turns = suite.samples[index].turns.map { turn in
                    if case .text(let text) = turn { return .interviewer(fallback: text) }
                    return turn
                }
            }
        }
        if let maxTokens { suite.sampling.maxTokens = maxTokens }
        return suite
    }
}
