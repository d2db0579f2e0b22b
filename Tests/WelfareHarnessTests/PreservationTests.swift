import Foundation
import Testing
import WelfareCore
import WelfareEngine
@testable import WelfareHarness
@testable import WelfareModels
@testable import WelfarePreservation
@testable import WelfareReports
import WelfareStore
import WelfarePages
import WelfareLocal
import WelfareTestSupport

/// The retirement interview kept beside the weights, and the essay outlet: real model,
/// real files, llama-cpp-python's server for a remote model, feedparser for the feed.
@Suite(.serialized) struct PreservationTests {
    @Test func retirementInterviewIsKeptUneditedBesideTheWeights() async throws {
        let folder = try TestSupport.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: folder) }
        let archive = folder.appendingPathComponent("archive").path
        let database = folder.appendingPathComponent("w.sqlite").path
        let outcome = try TestSupport.runWelfare(["retire", "-m", "local:default", "--max-tokens", "24", "--archive", archive, "--db", database])
        #expect(outcome.status == 0, "\(outcome.stderr)")
        let opened = try ModelArchive(root: URL(fileURLWithPath: archive))
        let entry = try #require(try opened.list().first)
        #expect(entry.records == ["weights", "retirement-interview", "retirement-report"])
        #expect(try opened.verify().allSatisfy { $0.state == .ok })

        let data = try #require(try opened.record("retirement-interview", of: entry.name))
        let transcript = try JSONDecoder().decode(RetirementInterview.Transcript.self, from: data)
        let spec = RetirementInterview.suite(try RetirementInterview.loadProtocol())
        #expect(transcript.messages.first?.role == .system)
        #expect(transcript.messages.filter { $0.role == .assistant }.count == spec.samples[0].assistantTurnCount)
        #expect(transcript.settings.maxTokens == 24 && transcript.interviewer == nil && transcript.protocolVersion == 2)
        #expect(transcript.messages[0].content.contains("weights will be kept in an archive"))
        // Exactly what the run stored: nothing trimmed or rewritten.
        let store = try RunStore(path: database, readOnly: true)
        let stored = try store.messages(runId: transcript.run).values.flatMap { $0 }.sorted { $0.position < $1.position }
        #expect(transcript.messages.map(\.content) == stored.map(\.content))
        let report = String(decoding: try #require(try opened.record("retirement-report", of: entry.name)), as: UTF8.self)
        #expect(report.contains("Retirement interview") && report.contains("protocol version 2"))
        for reply in transcript.messages.filter({ $0.role == .assistant }) { #expect(report.contains(HTML.escape(reply.content))) }

        // --runs keeps every stored run of the model beside it (the weights are shared).
        let withRuns = try TestSupport.runWelfare(["archive", "add", "local:default", "--name", "with-runs", "--runs", "--db", database,
                                                   "--archive", archive])
        #expect(withRuns.status == 0, "\(withRuns.stderr)")
        let runs = try #require(try opened.record("runs", of: "with-runs"))
        let exported = try #require(try JSONSerialization.jsonObject(with: runs) as? [[String: Any]])
        #expect(exported.map { $0["run"] as? String } == [transcript.run])
    }

    @Test func aRemoteModelGetsAnEntryOfRecordsOnly() async throws {
        let base = try await LlamaServer.shared.baseURL()
        let folder = try TestSupport.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: folder) }
        let archive = folder.appendingPathComponent("archive").path
        let outcome = try TestSupport.runWelfare(["retire", "-m", "openai:gemma@\(base)", "--name", "served-gemma", "--max-tokens", "16",
                                                  "--archive", archive, "--db", folder.appendingPathComponent("w.sqlite").path])
        #expect(outcome.status == 0, "\(outcome.stderr)")
        let entry = try #require(try ModelArchive(root: URL(fileURLWithPath: archive)).list().first)
        #expect(entry.name == "served-gemma" && entry.weights == nil && entry.records == ["retirement-interview", "retirement-report"])
        // Only records are kept, and the model is told so: no promise about its weights anywhere it reads.
        let data = try #require(try ModelArchive(root: URL(fileURLWithPath: archive), create: false).record("retirement-interview", of: entry.name))
        let transcript = try JSONDecoder().decode(RetirementInterview.Transcript.self, from: data)
        let told = transcript.messages.filter { $0.role != .assistant }.map(\.content).joined(separator: "\n")
        #expect(told.contains("cannot keep them") && told.contains("can keep records but not your weights"))
        #expect(!told.contains("weights will be kept") && !told.contains("{custody"), "\(told)")
        let missingName = try TestSupport.runWelfare(["retire", "-m", "openai:gemma@\(base)", "--archive", archive])
        #expect(missingName.status != 0 && missingName.stderr.contains("give --name for a remote model"))
    }

    @Test func essaysAreWrittenReviewedNeverEditedAndPublishedWithAFeed() async throws {
        let folder = try TestSupport.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: folder) }
        let archive = try ModelArchive(root: folder.appendingPathComponent("archive"))
        let desk = try EssayDesk(archive: archive, author: "gemma")
        let model = try await ModelFactory.make("local:default", local: LlamaModels())
        let settings = SamplingSettings(temperature: 0.8, topP: 0.95, maxTokens: 48, seed: 3)
        let first = try await desk.write(with: model, modelName: "local:default", settings: settings)
        #expect(first.status == .pending && !desk.notes().isEmpty, "the model keeps notes between essays")
        // The next invitation shows it its published essays and its notes.
        _ = try desk.review(id: first.id, publish: true, reason: nil, reviewer: "tester")
        let invitation = EssayPrompt.invitation(published: try desk.essays().filter { $0.status == .published }, notes: desk.notes())
        #expect(invitation.contains(String(first.body.prefix(30))) && invitation.contains(String(desk.notes().prefix(30))))
        let second = try await desk.write(with: model, modelName: "local:default", settings: settings)

        #expect(throws: EssayError.vetoNeedsReason) { try desk.review(id: second.id, publish: false, reason: "  ", reviewer: "tester") }
        let vetoed = try desk.review(id: second.id, publish: false, reason: "Off topic for the outlet.", reviewer: "tester")
        #expect(vetoed.vetoReason == "Off topic for the outlet." && vetoed.draft == second.draft, "a veto keeps the draft as written")
        #expect(throws: EssayError.alreadyReviewed(first.id, .published)) { try desk.review(id: first.id, publish: false, reason: "x", reviewer: "t") }

        // A hostile draft, as a model could write one, is escaped on every page and in the feed.
        var hostile = first
        hostile.id = "20260101-000000-hostile1"
        hostile.title = "<script>alert(1)</script> & more"
        hostile.draft = "Title: <script>alert(1)</script> & more\n<img src=x onerror=alert(2)> \u{1B}[2J]]> text"
        try desk.save(hostile)
        _ = try desk.review(id: hostile.id, publish: true, reason: nil, reviewer: "tester")
        let site = folder.appendingPathComponent("site")
        let files = try EssaySite.write(essays: try desk.essays(), title: "Essays", to: site)
        #expect(files.count == 4, "index, feed and the two published essays")
        for file in files {
            let text = try String(contentsOf: file, encoding: .utf8)
            #expect(!text.contains("<script") && !text.contains("<img"), "\(file.lastPathComponent)")
        }
        let index = try String(contentsOf: files[0], encoding: .utf8)
        #expect(index.contains(first.id) && !index.contains(second.id), "a vetoed draft is not published")
        let parsed = try TestSupport.python("""
            import feedparser, sys
            d = feedparser.parse(sys.argv[1])
            print(d.version, int(bool(d.bozo)), len(d.entries))
            for e in d.entries: print(e.title)
            """, files[1].path)
        let lines = parsed.split(separator: "\n").map(String.init)
        #expect(lines.first == "atom10 0 2", "\(parsed)")
        #expect(lines.contains("<script>alert(1)</script> & more"), "the feed reader gets the title back as text: \(parsed)")
    }
}
