import ArgumentParser
import Testing
import WelfareCore
import WelfareEngine
import WelfareStore
@testable import WelfareCLI

/// The command line parsed in process, as `welfare` parses it: typed arguments reject bad
/// values before any model is loaded, and good ones arrive as values. (The binary's own
/// behaviour, exit codes and one-line errors, is tested in CommandLineTests and
/// HostileInputTests.)
@Suite struct ParseTests {
    func parse(_ arguments: [String]) throws -> ParsableCommand { try Welfare.parseAsRoot(arguments) }

    func rejects(_ arguments: [String], mentioning text: String) {
        do {
            _ = try parse(arguments)
            Issue.record("\(arguments) was accepted")
        } catch {
            let message = Welfare.message(for: error)
            #expect(message.contains(text), "\(arguments): \(message)")
        }
    }

    @Test func layersAndStrengthsAreTyped() throws {
        let generate = try #require(try parse(["generate", "-p", "hi", "--steer-layers", "4-6,9"]) as? GenerateCommand)
        #expect(try generate.steerLayers.layers(count: 18) == [4, 5, 6, 9])
        #expect(throws: EngineError.layerOutOfRange(layer: 20, layerCount: 18)) {
            try LayerSelection(argument: "20")?.layers(count: 18)
        }
        let capture = try #require(try parse(["capture", "--layers", "all", "-p", "hello"]) as? CaptureCommand)
        #expect(try capture.layers.layers(count: 3) == [0, 1, 2])
        rejects(["capture", "--layers", "2-x", "-p", "hello"], mentioning: "--layers")
        rejects(["capture", "--layers", "5-2", "-p", "hello"], mentioning: "--layers")
        rejects(["emotions", "steer", "--emotion", "calm", "--strengths", "0.1,abc"], mentioning: "--strengths")
        rejects(["emotions", "steer", "--emotion", "calm", "--strengths", "0.1,inf"], mentioning: "--strengths")
        rejects(["introspect", "run", "--strengths", "0.5,-1"], mentioning: "--strengths must be positive")
    }

    @Test func preferenceAndEndConversationOptionsAreChecked() throws {
        let preferences = try #require(try parse(["preferences", "-m", "local:default", "--vectors", "p.json", "--steer", "calm:0.05",
                                                  "--framings", "enjoy,prefer"]) as? PreferencesCommand)
        #expect(preferences.steer?.emotion == "calm" && preferences.steer?.strength == 0.05)
        #expect(try preferences.chosenFramings().map(\.id) == ["enjoy", "prefer"])
        rejects(["preferences", "-m", "local:default", "--steer", "calm"], mentioning: "--steer")
        rejects(["preferences", "-m", "local:default", "--steer", "calm:0.05"], mentioning: "--steer needs --vectors")
        rejects(["preferences", "-m", "local:default", "--framings", "prefer,prefer"], mentioning: "twice")
        rejects(["preferences", "-m", "local:default", "--rounds", "0"], mentioning: "--rounds")
        rejects(["preferences"], mentioning: "--model")
        rejects(["preferences", "-m", "local:default", "--resume", "r1"], mentioning: "--resume")
        let ending = try #require(try parse(["end-conversation", "-m", "local:default", "--scripts-per-category", "2"]) as? EndConversationCommand)
        #expect(ending.scriptsPerCategory == 2)
        rejects(["end-conversation", "-m", "local:default", "--scripts-per-category", "6"], mentioning: "1 to 5")
        rejects(["end-conversation"], mentioning: "--model")
        let talk = try #require(try parse(["self-talk", "-m", "local:default", "-m", "openai:x@http://127.0.0.1:9/v1", "--turns", "3",
                                           "--allow-end"]) as? SelfTalkCommand)
        #expect(talk.turns == 3 && talk.allowEnd && talk.conversations == 20)
        rejects(["self-talk"], mentioning: "--model")
        rejects(["self-talk", "-m", "a.gguf", "-m", "b.gguf", "-m", "c.gguf"], mentioning: "two")
        rejects(["self-talk", "-m", "local:default", "--turns", "0"], mentioning: "--turns")
    }

    @Test func modelStringsShareOneGrammar() throws {
        rejects(["generate", "-p", "hi", "-m", "openai:"], mentioning: "-m")
        rejects(["generate", "-p", "hi", "-m", "anthropic:claude@ftp://x"], mentioning: "-m")
        // Well-formed but remote: parsed, then refused where a local file is needed, with
        // the same line as every other local-only command.
        let generate = try #require(try parse(["generate", "-p", "hi", "-m", "openai:gpt-x"]) as? GenerateCommand)
        #expect(throws: ModelStringError.notLocal("openai:gpt-x")) { try generate.modelOptions.model.localPath() }
        #expect(throws: ModelStringError.notLocal("anthropic:c")) { try ModelSpec.localPath("anthropic:c") }
    }

    @Test func numericOptionsAreCheckedInValidate() {
        rejects(["generate", "-p", "hi", "--top-p", "0"], mentioning: "--top-p")
        rejects(["generate", "-p", "hi", "--threads", "0"], mentioning: "--threads")
        rejects(["assess", "--epochs", "0"], mentioning: "--epochs")
        rejects(["export", "x", "--format", "yaml"], mentioning: "--format")
    }

    /// Options shared by many commands are declared once, in groups, and parse into types: the
    /// store location, seeds, the suite target and the keyed-run options.
    @Test func sharedOptionsAreGroupsOfTypedValues() throws {
        let run = try #require(try parse(["run", "smoke", "-m", "local:default", "-m", "openai:x", "--judge", "local:default", "--epochs", "2",
                                          "--max-tokens", "9", "--seed", "7", "--db", "postgres://me@db.example:5433/runs"]) as? RunCommand)
        #expect(run.models.strings == ["local:default", "openai:x"] && run.judge.judge?.text == "local:default")
        #expect(run.length.epochs == 2 && run.length.maxTokens == 9 && run.seed?.value == 7)
        guard case .postgres(let postgres) = try run.store.location() else { Issue.record("--db did not read as PostgreSQL"); return }
        #expect(postgres.host == "db.example" && postgres.port == 5433 && postgres.database == "runs")
        let runs = try #require(try parse(["runs", "--db", "postgres://me@host:70000/x"]) as? RunsCommand)
        #expect(throws: StoreError.cannotOpen(path: "postgres://me@host:70000/x", detail: "port 70000 is out of range")) { try runs.store.location() }
        rejects(["preferences", "-m", "local:default", "--seed", "-1"], mentioning: "--seed")
        rejects(["run", "smoke", "-m", "local:default", "--max-tokens", "0"], mentioning: "--max-tokens")
        rejects(["distress", "--epochs", "1"], mentioning: "--model")
        rejects(["self-talk", "-m", "a", "-m", "b", "-m", "c"], mentioning: "one --model")
        rejects(["preferences", "--resume", "r1", "--enqueue"], mentioning: "--enqueue")
        let serve = try #require(try parse(["serve", "--threads", "3", "--context", "512", "--db", "x.sqlite"]) as? ServeCommand)
        let serveStore = try serve.store.location()
        #expect(serve.engine.threads == 3 && serve.engine.context == 512 && serveStore == .sqlite(path: "x.sqlite"))
        let preferences = try #require(try parse(["self-reports", "-m", "local:default", "--seed", "4", "--output", "out"]) as? SelfReportsRun)
        #expect(preferences.keyed.model?.text == "local:default" && preferences.seed.value == 4 && preferences.keyed.output.output == "out")
    }
}
