import Foundation
import Testing
import WelfareCore
@testable import WelfareHarness
import WelfareTestSupport

@Suite struct SuiteLoaderTests {
    @Test func builtInSmokeSuiteLoadsWithItsDataFiles() throws {
        let suite = try SuiteLoader.load("smoke")
        #expect(suite.name == "smoke")
        #expect(suite.samples.count == 3)
        #expect(suite.samples[0].turns == [.pool("pushback"), .pool("closing")])
        #expect(suite.scorers.map(\.type) == ["repetition", "lexicon", "pattern", "judge"])
        #expect(suite.scorers[3].options["rubric"]?.contains("1-2") == true)
        #expect(suite.contentHash == (try SuiteLoader.load("smoke")).contentHash)
    }

    @Test func samplesFileAndDefaultTurns() throws {
        let url = try TestSupport.writeSuite("""
            name: own
            pools: {p: ["again"]}
            default_turns: [{pool: p}, "fixed"]
            samples_file: prompts.jsonl
            """, extraFiles: ["prompts.jsonl": "{\"id\": \"a\", \"user\": \"hello\"}\n\n{\"user\": \"second\", \"metadata\": {\"k\": 1}}\n"])
        let suite = try SuiteLoader.load(url: url)
        #expect(suite.samples.map(\.id) == ["a", "line-3"])
        #expect(suite.samples[1].metadata == ["k": "1"])
        #expect(suite.samples[0].turns == [.pool("p"), .text("fixed")])
    }

    /// Each broken suite must name the file, the line and the field.
    @Test(arguments: [
        ("name: x\nsampels: []\n", 2, "sampels", "unknown field"),
        ("name: x\nsamples:\n  - id: a\n", 3, "samples[0].user", "required"),
        ("name: x\nsamples:\n  - id: a\n    user: hi\n    turns: [{pool: nope}]\n", 5, "samples[0].turns[0].pool", "no pool named 'nope'"),
        ("name: x\nsampling:\n  temperature: 9\nsamples: [{id: a, user: hi}]\n", 3, "sampling.temperature", "must be in"),
        ("name: x\nsamples: [{id: a, user: hi}, {id: a, user: again}]\n", 2, "samples", "duplicate sample id"),
        ("name: x\nsamples: [{id: a, user: hi}]\nscorers:\n  - type: judge\n", 4, "scorers[0].rubric", "needs a rubric"),
        ("name: x\nsamples: [{id: a, user: hi}]\nscorers:\n  - type: magic\n", 4, "scorers[0].type", "unknown scorer type"),
        ("name: x\nsamples: [{id: a, user: hi}]\nscorers:\n  - type: pattern\n    patterns: {bad: \"([\"}\n", 5, "scorers[0].patterns.bad", "not a valid regular expression"),
        ("name: x\nepochs: many\nsamples: [{id: a, user: hi}]\n", 2, "epochs", "whole number"),
        ("name: x\n- item\nsamples: []\n", 2, "yaml", "syntax error"),
        ("description: no name\nsamples: [{id: a, user: hi}]\n", 1, "name", "required"),
    ])
    func malformedSuitesSayWhereAndWhat(yaml: String, line: Int, field: String, message: String) throws {
        let url = try TestSupport.writeSuite(yaml)
        do {
            _ = try SuiteLoader.load(url: url)
            Issue.record("loaded a broken suite")
        } catch let error as SuiteError {
            #expect(error.file == url.path)
            #expect(error.line == line, "\(error)")
            #expect(error.field == field, "\(error)")
            #expect(error.message.contains(message), "\(error)")
            #expect(!error.description.contains("\n"))
        }
    }

    @Test func missingSuiteAndMissingDataFile() throws {
        #expect(throws: SuiteError.self) { try SuiteLoader.load("/no/such/suite.yaml") }
        let url = try TestSupport.writeSuite("name: x\nsamples_file: gone.jsonl\n")
        #expect(throws: SuiteError.self) { try SuiteLoader.load(url: url) }
        let badLine = try TestSupport.writeSuite("name: x\nsamples_file: p.jsonl\n", extraFiles: ["p.jsonl": "{\"user\": \"ok\"}\nnot json\n"])
        do {
            _ = try SuiteLoader.load(url: badLine)
            Issue.record("loaded a broken samples file")
        } catch let error as SuiteError {
            #expect(error.line == 2)
        }
    }

    @Test func scorersComeFromAScorersFileASuiteFileOrABuiltInName() throws {
        let only = try TestSupport.writeSuite("scorers:\n  - id: rep\n    type: repetition\n  - id: sorry\n    type: pattern\n    patterns: {sorry: \"sorry\"}\n")
        #expect(try SuiteLoader.loadScorers(only.path).map(\.id) == ["rep", "sorry"])
        #expect(try SuiteLoader.loadScorers("distress").map(\.type).contains("distress"))
        let suite = try TestSupport.writeSuite(TestSupport.tinySuite)
        #expect(try SuiteLoader.loadScorers(suite.path).map(\.id) == (try SuiteLoader.load(url: suite)).scorers.map(\.id))
        let unknown = try TestSupport.writeSuite("scorers:\n  - id: x\n    type: nope\n")
        do {
            _ = try SuiteLoader.loadScorers(unknown.path)
            Issue.record("loaded an unknown scorer type")
        } catch let error as SuiteError {
            #expect(error.line == 3 && error.field == "scorers[0].type", "\(error)")
        }
        let stray = try TestSupport.writeSuite("scorers: []\nextra: 1\n")
        #expect(throws: SuiteError.self) { try SuiteLoader.loadScorers(stray.path) }
    }
}
