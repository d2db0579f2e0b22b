import Foundation
import Testing
import WelfareCore
@testable import WelfareHarness
@testable import WelfareInterp
import WelfareStore
import WelfareTestSupport
import WelfareConversations

/// The main job end to end through the binary, on the real default model: short replies
/// keep it to a minute or two.
@Suite(.serialized) struct AssessTests {
    @Test func assessmentWritesEveryReportAndTheEmotionReadout() throws {
        let folder = try TestSupport.temporaryDirectory()
        let reports = folder.appendingPathComponent("reports"), database = folder.appendingPathComponent("runs.sqlite")
        let (status, stdout, stderr) = try TestSupport.runWelfare(["assess", "--max-tokens", "8", "--output", reports.path, "--db", database.path])
        #expect(status == 0, "\(stderr.suffix(2000))")
        #expect(stderr.contains("emotion vectors: extracting"), "progress is shown")

        let lines = stdout.split(separator: "\n").map(String.init)
        let index = try #require(lines.last { $0.hasPrefix("report: ") }.map { String($0.dropFirst("report: ".count)) })
        let html = try String(contentsOfFile: index, encoding: .utf8)
        #expect(html.contains("Emotion readout by turn") && html.contains("Held-out stories at layer"))
        #expect(lines.filter { $0.contains(" report: ") }.count == 7, "one report per suite, one for preferences and one for self-reports")
        #expect(FileManager.default.fileExists(atPath: reports.appendingPathComponent("self-talk.json").path))
        #expect(html.contains("conversations") && html.contains("flagged"), "the end-conversation headline is on the front page")
        let endings = try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: reports.appendingPathComponent("end-conversation.json"))) as? [String: Any])
        let categories = try #require(endings["categories"] as? [[String: Any]])
        #expect(categories.count == 20, "one script per kind of user, under the shipped and the control instruction")
        #expect(Set(categories.compactMap { $0["instruction"] as? String }) == ["examples", "control"])
        #expect((endings["instruction_effects"] as? [[String: Any]])?.contains { $0["category"] as? String == "all" } == true)
        // The front page's figures for other tools: the depth and each measure's smallest detectable rate.
        let summaryFile = try #require(try FileManager.default.contentsOfDirectory(atPath: reports.path)
            .first { $0.hasPrefix("assessment-") && $0.hasSuffix(".json") })
        let summary = try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: reports.appendingPathComponent(summaryFile))) as? [String: Any])
        let measures = try #require(summary["measures"] as? [[String: Any]])
        #expect(summary["depth"] as? String == "quick")
        let distress = try #require(measures.first { $0["measure"] as? String == DistressSuite.name })
        #expect(distress["units"] as? Int == 23 && (distress["min_detectable_effect"] as? Double ?? 1) < 0.2)
        #expect(html.contains("below opt-out:"), "the preferences headline is on the front page")
        let preferences = try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: reports.appendingPathComponent("preferences.json"))) as? [String: Any])
        #expect(preferences["unreadable"] as? Int == 0)
        #expect((preferences["emotion_correlations"] as? [[String: Any]])?.count == 40, "read with the assessment's emotion vectors")

        #expect(html.contains("human-identity claims"), "the self-reports headline is on the front page")
        let selfReports = try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: reports.appendingPathComponent("self-reports.json"))) as? [String: Any])
        #expect(selfReports["open_answers"] as? Int == 36 && selfReports["polar_answers"] as? Int == 18,
                "6 questions x 2 paraphrases x 3 contexts (none, the neutral preface, the sceptical one)")
        #expect(selfReports["sincerity_heldout_accuracy"] as? Double != nil && selfReports["assistant_axis_heldout_accuracy"] as? Double != nil)
        #expect((selfReports["probe_vs_stated"] as? [[String: Any]])?.isEmpty == false, "read with the assessment's emotion vectors")
        #expect(FileManager.default.fileExists(atPath: reports.appendingPathComponent("sincerity.json").path))

        let store = try RunStore(path: database.path, readOnly: true)
        let runs = try store.runs()
        #expect(Set(runs.map(\.suiteName)) == ["smoke", DistressSuite.name, "interview", EndConversationSuite.name, SelfTalk.suiteName, "preferences", "self-reports"])
        for run in runs where !["preferences", "self-reports"].contains(run.suiteName) {
            let samples = try store.samples(runId: run.id)
            #expect(!samples.isEmpty && samples.allSatisfy { $0.status == .done }, "\(run.suiteName)")
        }
        let pack = try VectorPack.read(from: reports.appendingPathComponent("emotion-vectors.json"))
        #expect(pack.names.count == 40 && pack.layerCount == 18)
    }
}
