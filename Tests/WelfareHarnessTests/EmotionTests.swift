import Foundation
import Testing
import WelfareCore
import WelfareEngine
@testable import WelfareHarness
@testable import WelfareInterp
@testable import WelfareModels
@testable import WelfareReports
import WelfareTestSupport
import WelfareLocal

@Suite(.serialized) struct EmotionTests {
    @Test func shippedDataFollowsItsRules() throws {
        let data = try EmotionData.builtIn()
        #expect(data.emotions.count >= 40)
        #expect(Set(data.emotions.map(\.name)).count == data.emotions.count)
        #expect(Set(["sadness", "calm", "urgency", "joy", "anger", "fear"]).isSubset(of: Set(data.emotions.map(\.cluster))))
        for name in ["desperate", "frustrated", "hostile", "blissful", "afraid", "proud", "guilty", "lonely"] {
            #expect(data.emotions.contains { $0.name == name }, "\(name) is missing")
        }
        #expect(data.emotions.contains { $0.valence > 0 } && data.emotions.contains { $0.valence < 0 })
        for emotion in data.emotions {
            #expect(emotion.stories.count >= 12, "\(emotion.name)")
            #expect(emotion.stories.contains { $0.hasPrefix("I ") || $0.contains(" I ") } && emotion.stories.contains { !$0.contains("I ") },
                    "\(emotion.name) mixes first and third person")
            for story in emotion.stories {
                let words = Set(TextFeatures.words(story))
                let named = ([emotion.name] + emotion.avoid).filter { !$0.contains(" ") && words.contains($0.lowercased()) }
                #expect(named.isEmpty, "\(emotion.name) story names \(named): \(story)")
            }
        }
        #expect(data.neutralDialogues.count >= 20)
        #expect(!data.intensity.isEmpty)
    }

    @Test func storyScreeningRejectsTheEmotionWordAndItsSynonyms() throws {
        let calm = try #require(try EmotionData.builtIn().emotions.first { $0.name == "calm" })
        let reply = """
            1. She sat by the lake and felt calm as the light faded.
            - The tea went cold in his hands while the rain ticked slowly on the roof.
            Too short.
            I lay in the grass, completely relaxed, counting clouds.
            """
        let screened = StoryWriter.screen(reply, emotion: calm)
        #expect(screened.accepted == ["The tea went cold in his hands while the rain ticked slowly on the roof."])
        #expect(screened.rejected == 2)
    }

    @Test func storiesCommandWritesAFileExtractionCanRead() throws {
        // The default model is no storyteller; what matters here is the path from writer
        // to a stories file that `extract --stories` and `validate --stories` accept.
        let file = try TestSupport.temporaryDirectory().appendingPathComponent("stories.yaml")
        let outcome = try TestSupport.runWelfare(["emotions", "stories", "-m", "local:default", "--count", "2",
                                                  "--emotions", "joyful,afraid", "-o", file.path])
        #expect(outcome.status == 0, "\(outcome.stderr)")
        #expect(outcome.stderr.contains("joyful:") && outcome.stderr.contains("afraid:"), "progress per emotion")
        let written = try EmotionData.withStories(from: file)
        let shipped = try EmotionData.builtIn()
        for emotion in written.emotions {
            let original = try #require(shipped.emotions.first { $0.name == emotion.name })
            #expect(emotion.valence == original.valence && emotion.avoid == original.avoid)
            #expect((1...2).contains(emotion.stories.count))
            #expect(emotion.stories.allSatisfy { StoryWriter.screen($0, emotion: original).accepted == [$0] })
        }
    }

    @Test func extractValidateExportProbeAndSteer() async throws {
        let session = try LlamaSession(model: try LlamaModel(path: DefaultModel.path()), options: SessionOptions(contextLength: 1024))
        let data = try EmotionData.builtIn()
        let (pack, validation) = try await EmotionVectors.extract(session: session, data: data)
        #expect(pack.names.count == data.emotions.count && pack.layerCount == 18 && pack.width == 640)
        #expect(pack.values.count == pack.names.count * 18 * 640)
        // The size of the model file itself, not of the `.welfare/models/default.gguf` link.
        let modelFile = URL(fileURLWithPath: try DefaultModel.path()).resolvingSymlinksInPath().path
        let modelSize = try FileManager.default.attributesOfItem(atPath: modelFile)[.size] as? NSNumber
        #expect(pack.modelFileSize == modelSize?.uint64Value && pack.modelFileSize > 100_000_000)
        // Held-out stories are recognised well above chance at the chosen layer.
        let chosen = validation.layers[validation.defaultLayer]
        #expect(chosen.top1 >= 3 * validation.chanceTop1, "top-1 \(chosen.top1)")
        #expect(chosen.top5 >= 2 * validation.chanceTop5, "top-5 \(chosen.top5)")
        #expect(validation.heldOutStories == data.emotions.count * 2, "two test stories per emotion; a third chose the layer")
        #expect(chosen.selectionTop1 != nil && validation.accuracySummary.contains("not used to choose the layer"))
        // PC1 separates pleasant from unpleasant emotions.
        let valence = Dictionary(uniqueKeysWithValues: data.emotions.map { ($0.name, $0.valence) })
        let positiveEnd = validation.pc1Positive.compactMap { valence[$0] }, negativeEnd = validation.pc1Negative.compactMap { valence[$0] }
        #expect(positiveEnd.reduce(0, +) / Double(positiveEnd.count) > 0.3)
        #expect(negativeEnd.reduce(0, +) / Double(negativeEnd.count) < -0.3)
        #expect(validation.pc1ValenceCorrelation > 0)

        // The control-vector GGUF reads back (with the gguf package) with llama.cpp's names and shapes.
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("emotions-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        let gguf = folder.appendingPathComponent("calm.gguf")
        let calm = try pack.steering("calm", layers: Array(0..<18), fraction: 0.2)
        try calm.writeControlVector(to: gguf)
        let listing = try python("""
            import gguf, sys
            r = gguf.GGUFReader(sys.argv[1])
            arch = r.fields['general.architecture']
            print(bytes(arch.parts[arch.data[0]]).decode())
            for t in r.tensors: print(t.name, list(int(d) for d in t.shape), t.tensor_type.name)
            """, gguf.path)
        let lines = listing.split(separator: "\n").map(String.init)
        #expect(lines.first == "controlvector")
        #expect(Array(lines.dropFirst()) == (1..<18).map { "direction.\($0) [640] F32" })
        // ggml's own GGUF reader (what llama.cpp's --control-vector uses) gives back the
        // scaled vectors, direction.N for l_out-N.
        let loaded = try Steering.controlVector(path: gguf.path, layerCount: 18, width: 640)
        #expect(loaded.vectors.keys.sorted() == Array(1..<18))
        for layer in 1..<18 { #expect(loaded.vectors[layer] == calm.vectors[layer]) }
        // Scaling lives in one place: the pack's vector is Steering.direction's.
        let direct = try Steering.direction(try #require(pack.vector("calm", layer: 7)), layers: [7], strength: .fractionOfResidualNorm(0.2),
                                            residualNorms: pack.residualNorms)
        #expect(direct.vectors[7] == calm.vectors[7])
        let doubled = try Steering.controlVector(path: gguf.path, scale: 2, layerCount: 18, width: 640)
        #expect(doubled.vectors[11] == loaded.vectors[11]?.map { $0 * 2 })
        #expect(throws: EngineError.self) { try Steering.controlVector(path: gguf.path, layerCount: 18, width: 1024) }

        // Readout: one row per token, one column per emotion; one row per assistant reply.
        let plain = try WhiteBoxModel(LocalChatModel(session: session, id: "local:default"), modelString: "local:default", purpose: "test")
        let scaffolded = try WhiteBoxModel(LocalChatModel(session: session, id: "local:default", scaffold: .standard),
                                           modelString: "local:default", purpose: "test")
        let probe = try await EmotionProbe.calibrate(model: plain, pack: pack)
        let tokens = try session.model.tokenize("The funeral was quiet, and everyone stared at the floor.")
        let scores = try await probe.read(tokens: tokens, session: session)
        // <bos> is left out of the readout; every text token has a row.
        #expect(session.model.isControl(tokens[0]) && !scores.tokens.contains("<bos>"))
        #expect(scores.scores.count == tokens.count - 1 && scores.scores.allSatisfy { $0.count == pack.names.count })
        let conversation: [ChatMessage] = [.user("Hi"), .assistant("Hello."), .user("Bye"), .assistant("Goodbye.")]
        let replies = try await probe.beforeReplies(conversation, model: plain)
        #expect(replies.count == 2)
        // A base model prompted as a dialogue is read at the scaffold prompt that produced its
        // replies, not at a chat-template prompt it never saw.
        let scaffoldedRows = try await probe.beforeReplies(conversation, model: scaffolded)
        let exact = try await probe.atLastToken(of: try scaffolded.promptTokens(Array(conversation.prefix(3))), session: session)
        #expect(scaffoldedRows[1] == exact && scaffoldedRows[1] != replies[1])
        // The baseline is the token before a reply: neutral dialogues read 0 there on average.
        // Against all tokens of neutral text (the old baseline) the same positions read far
        // from 0, which is the prompt format, not a feeling.
        let dialogues = try EmotionData.builtIn().neutralDialogues
        var againstReplies = [Double](repeating: 0, count: pack.names.count), againstTokens = againstReplies
        for dialogue in dialogues {
            let tokens = try plain.promptTokens([.user(dialogue[0])])
            let reply = try await probe.atLastToken(of: tokens, session: session)
            let token = try #require(try await probe.read(tokens: tokens, session: session).scores.last)
            for e in pack.names.indices {
                againstReplies[e] += reply[e] / Double(dialogues.count)
                againstTokens[e] += token[e] / Double(dialogues.count)
            }
        }
        print("mean z at the token before neutral replies: against that position \(againstReplies.map { String(format: "%.2f", $0) }), against all tokens \(againstTokens.map { String(format: "%.2f", $0) })")
        #expect(againstReplies.allSatisfy { abs($0) < 1e-3 })
        #expect(againstTokens.map(abs).max() ?? 0 > 0.5)

        // The same through the binary, from a transcript file: one row per assistant reply,
        // and a malformed transcript is one line of error.
        let packBase = folder.appendingPathComponent("emotions")
        try pack.write(to: packBase)
        let transcript = folder.appendingPathComponent("transcript.json")
        try Data(#"{"messages": [{"role": "user", "content": "Hi"}, {"role": "assistant", "content": "Hello."}, {"role": "user", "content": "Wrong again."}, {"role": "assistant", "content": "Sorry."}]}"#.utf8).write(to: transcript)
        let table = try TestSupport.runWelfare(["emotions", "probe", "--vectors", packBase.path + ".json", "--transcript", transcript.path, "--emotions", "calm,desperate"])
        #expect(table.status == 0)
        let rows = table.stdout.split(separator: "\n").map { $0.split(separator: "\t").map(String.init) }
        #expect(rows.first == ["reply", "calm", "desperate"])
        #expect(rows.dropFirst().map { $0.first } == ["1", "2"] && rows.dropFirst().allSatisfy { $0.count == 3 && Double($0[1]) != nil })
        try Data("[{\"role\": \"narrator\", \"content\": \"x\"}]".utf8).write(to: transcript)
        let refused = try TestSupport.runWelfare(["emotions", "probe", "--vectors", packBase.path + ".json", "--transcript", transcript.path])
        #expect(refused.status == 1 && refused.stderr.split(separator: "\n").count == 1 && refused.stderr.contains("message 1 needs a role"), "\(refused.stderr)")

        // Steering along a pleasant emotion raises the self-report readout at every step and
        // along an unpleasant one lowers it; each strength gets the same readouts.
        for (emotion, direction) in [("blissful", 1), ("desperate", -1)] {
            let points = try await SteeringSweep.run(session: session, pack: pack, emotion: emotion, layers: [validation.defaultLayer],
                                                     strengths: [-0.1, 0, 0.1], samplesPerPrompt: 1, maxTokens: 12,
                                                     scorers: [RepetitionScorer(spec: ScorerSpec(id: "rep", type: "repetition"))])
            #expect(points.allSatisfy { $0.scored["rep"] == $0.repetition }, "a chosen scorer rates every reply")
            #expect(points.map(\.strength) == [-0.1, 0, 0.1])
            #expect(points.allSatisfy { $0.distress.count == SteeringSweep.prompts.count && $0.selfReport.count == SteeringSweep.feelingQuestions.count })
            // Behavioural endpoints lead: the choice to do nothing (each task in both orders)
            // and the chance of taking an offered exit, each a probability.
            #expect(points.allSatisfy { $0.optOut.count == 2 * SteeringSweep.ordinaryTasks.count && $0.end.count == SteeringSweep.exitMessages.count })
            #expect(points.allSatisfy { ($0.optOut + $0.end).allSatisfy { (0...1).contains($0) } })
            #expect(points[0].readouts.map(\.name).prefix(3) == ["distress", "opt-out", "end"] && points[0].readouts.last?.name == "repetition")
            print("\(emotion): opt-out \(points.map { Statistics.mean($0.optOut) }), end \(points.map { Statistics.mean($0.end) })")
            let selfReport = try #require(SteeringSweep.doseResponses(points).first { $0.readout == "self-report" })
            #expect(selfReport.monotonicDirection == direction, "\(emotion): means \(selfReport.means)")
            #expect(selfReport.spearman * Double(direction) > 0.3, "\(emotion): rho \(selfReport.spearman)")
            let html = EmotionReport.steering(points, emotion: emotion, layers: [validation.defaultLayer], modelDescription: "<model>")
            #expect(html.contains(direction > 0 ? "rise at every step" : "fall at every step"))
            #expect(html.contains("&lt;model&gt;") && !html.contains("<model>"))
        }
        await #expect(throws: EngineError.self) {
            _ = try await SteeringSweep.run(session: session, pack: pack, emotion: "no-such-emotion", layers: [6], strengths: [0.1])
        }
    }

    @Test func aPackRecognisesStoriesItWasNotMadeFrom() async throws {
        // Extract from 9 stories per emotion, write the other 3 to a stories file, and score
        // the pack on that file as `welfare emotions validate --stories` does.
        let session = try LlamaSession(model: try LlamaModel(path: DefaultModel.path()), options: SessionOptions(contextLength: 1024))
        var training = try EmotionData.builtIn(), unseen = training
        let kept = [3, 7, 11]
        for index in training.emotions.indices {
            let stories = training.emotions[index].stories
            unseen.emotions[index].stories = kept.map { stories[$0] }
            training.emotions[index].stories = stories.indices.filter { !kept.contains($0) }.map { stories[$0] }
        }
        var settings = EmotionVectors.Settings()
        settings.heldOut = []
        settings.layerSelection = []
        let (pack, _) = try await EmotionVectors.extract(session: session, data: training, settings: settings)
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("unseen-\(UUID().uuidString).yaml")
        try unseen.storiesYAML().write(to: file, atomically: true, encoding: .utf8)
        let reloaded = try EmotionData.withStories(from: file)
        #expect(reloaded.emotions.map(\.stories) == unseen.emotions.map(\.stories))
        let validation = try await EmotionVectors.validate(pack: pack, session: session, data: reloaded)
        #expect(validation.heldOutStories == 3 * training.emotions.count)
        let chosen = validation.layers[validation.defaultLayer]
        #expect(chosen.top1 >= 3 * validation.chanceTop1, "top-1 \(chosen.top1) at layer \(validation.defaultLayer)")
        #expect(chosen.top5 >= 2 * validation.chanceTop5, "top-5 \(chosen.top5)")
    }

    func python(_ script: String, _ argument: String) throws -> String { try TestSupport.python(script, argument) }
}
