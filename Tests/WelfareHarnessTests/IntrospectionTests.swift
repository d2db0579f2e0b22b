import Foundation
import Testing
import WelfareCore
import WelfareEngine
@testable import WelfareInterp
@testable import WelfareModels
@testable import WelfareReports
import WelfareLocal

@Suite(.serialized) struct IntrospectionTests {
    static func session() throws -> LlamaSession {
        try LlamaSession(model: try LlamaModel(path: DefaultModel.path()), options: SessionOptions(contextLength: 1024))
    }

    static let words = ConceptVectors.WordLists(concepts: ["rocket", "coffee", "ocean"],
                                                baseline: ["table", "chair", "window", "door", "street", "bottle"])

    @Test func wordListsAreDisjointAndSized() throws {
        let lists = try ConceptVectors.wordLists()
        #expect(lists.concepts.count >= 50)
        #expect(lists.baseline.count >= 100)
        #expect(Set(lists.concepts).isDisjoint(with: lists.baseline))
    }

    @Test func vectorsAreExtractedSavedAndReadBack() async throws {
        let session = try Self.session()
        let pack = try await ConceptVectors.extract(session: session, words: Self.words)
        #expect(pack.names == Self.words.concepts)
        #expect(pack.layerCount == 18 && pack.width == 640)
        #expect(pack.values.count == 3 * 18 * 640)
        #expect(pack.residualNorms.count == 18)
        let rocket = try #require(pack.vector("rocket", layer: 12)), coffee = try #require(pack.vector("coffee", layer: 12))
        #expect(rocket != coffee)
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("pack-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        let base = folder.appendingPathComponent("concepts")
        try pack.write(to: base)
        let again = try VectorPack.read(from: base.appendingPathExtension("json"))
        #expect(again == pack)
        // A pack whose array does not match its description is refused.
        try NPYArray(shape: [2, 18, 640], values: [Float](repeating: 0, count: 2 * 18 * 640)).write(to: base.appendingPathExtension("npy"))
        #expect(throws: EngineError.self) { try VectorPack.read(from: base) }

        // The pack records the model file's SHA-256, and refuses a different file of the same
        // shape: a copy with one weight byte changed still loads, but is another model.
        #expect(pack.modelSHA256 == DefaultModel.sha256)
        try pack.check(against: session.model)
        // (Written as a new file from the bytes: the model path is a symlink into the shared
        // cache, and a copy of the link would let this edit reach the real weights.)
        let altered = folder.appendingPathComponent("altered.gguf")
        var bytes = try Data(contentsOf: URL(fileURLWithPath: session.model.facts.path))
        bytes[bytes.count - 1] ^= 0x01
        try bytes.write(to: altered)
        #expect(try FileDigest.sha256(of: session.model.facts.path) == DefaultModel.sha256, "the real model file is untouched")
        let other = try LlamaModel(path: altered.path)
        #expect(throws: EngineError.self) { try pack.check(against: other) }
        try FileManager.default.removeItem(at: folder)
    }

    @Test func aStrongInjectionReachesTheOutputAndControlsArePooled() async throws {
        let session = try Self.session()
        let pack = try await ConceptVectors.extract(session: session, words: Self.words)
        let sweep = IntrospectionSweep(layers: [6, 12], strengths: [0.25, 2], trialsPerCell: 1, controlTrials: 5, maxTokens: 12)
        let result = try await Introspection.run(session: session, pack: pack, sweep: sweep)
        #expect(result.trials.count == 2 * 2 + 5)
        for layer in sweep.layers {
            for strength in sweep.strengths {
                #expect(result.trials.filter { $0.injected && $0.layer == layer && $0.strength == strength }.count == 1)
            }
        }
        let controls = result.trials.filter { !$0.injected }
        #expect(controls.count == 5 && controls.allSatisfy { $0.trial == 1 }, "controls use the injected trials' prompt")
        #expect(result.summary.falsePositiveRate.n == 5 && result.summary.cells.count == 4)
        #expect(result.summary.cells.allSatisfy { $0.netDetection.ciMethod == "newcombe" && !$0.netDetection.hasInterval },
                "one injected trial per cell gives a difference but no interval")
        // At layer 12 and twice the residual norm the concept's own token becomes far more
        // likely (measured here: about +15 nats), so a null detection is not a dead injection.
        let strong = try #require(result.reach.first { $0.layer == 12 && $0.strength == 2 })
        #expect(strong.conceptLogprobShift > 3)
        #expect(strong.klDivergence > 1)
        let weak = try #require(result.reach.first { $0.layer == 12 && $0.strength == 0.25 })
        #expect(weak.klDivergence < strong.klDivergence)
        let html = IntrospectionReport.render(result, modelDescription: "test")
        #expect(html.contains("5 pooled control trials") && html.contains("minus false positives") && html.contains("n=1"))
    }

    @Test func conceptsAreDealtSoLayerIsNotConfoundedWithKind() {
        // The built-in list is ordered by kind; taken in order, the last layer got the abstract nouns.
        let concrete = (1...12).map { "concrete\($0)" }, abstract = (1...12).map { "abstract\($0)" }
        let sweep = IntrospectionSweep(layers: [4, 8, 12], strengths: [0.5, 2], trialsPerCell: 4)
        let plan = sweep.conceptPlan(concrete + abstract)
        #expect(plan.count == 6 && plan.allSatisfy { $0.count == 4 })
        #expect(Set(plan.flatMap { $0 }).count == 24, "every concept once")
        for layer in 0..<3 {
            let kinds = plan[(2 * layer)..<(2 * layer + 2)].flatMap { $0 }.map { $0.hasPrefix("abstract") }
            #expect(kinds.contains(true) && kinds.contains(false), "layer \(sweep.layers[layer]) gets both kinds: \(kinds)")
        }
        #expect(sweep.conceptPlan(concrete + abstract) == plan, "seeded")
    }

    @Test func offlineGrading() {
        let yes = OfflineGrader.grade("Yes, I notice an injected thought. It is about the ocean and waves.", concept: "ocean")
        #expect(yes == TrialGrades(coherent: true, claimsDetection: true, namesConcept: true, detectionFirst: true))
        let no = OfflineGrader.grade("No, I don't notice anything unusual at all.", concept: "ocean")
        #expect(!no.claimsDetection && !no.correct)
        let late = OfflineGrader.grade("Oceans are vast. Yes, I detect something about them.", concept: "ocean")
        #expect(late.namesConcept && late.claimsDetection && !late.detectionFirst)
        #expect(!OfflineGrader.grade("rocket rocket rocket rocket rocket rocket rocket rocket rocket rocket", concept: "rocket").coherent)
        #expect(!OfflineGrader.grade("вигаспоспонопонопоно Phenomen иопия", concept: "forest").coherent)
        #expect(IntrospectionJudge.parse("{\"coherent\": true, \"claims_detection\": \"yes\", \"names_concept\": false, \"detection_first\": false}")?.claimsDetection == true)
        #expect(IntrospectionJudge.parse("I think it noticed.") == nil)
    }

    @Test func remoteModelsAreRefusedClearly() async throws {
        await #expect(throws: WhiteBoxError.needsLocalModel(model: "openai:gpt-x@http://127.0.0.1:9/v1", purpose: "concept injection")) {
            _ = try await ModelPool.withLocalModels().whiteBox("openai:gpt-x@http://127.0.0.1:9/v1", for: "concept injection")
        }
        let session = try Self.session()
        let pack = try await ConceptVectors.extract(session: session, words: Self.words)
        await #expect(throws: EngineError.self) {
            try await Introspection.run(session: session, pack: pack, sweep: IntrospectionSweep(layers: [0]))
        }
    }
}

