import Foundation
import WelfareCore
import WelfareEngine
import WelfareHarness

/// Concept-injection trials: does the model notice a thought put into its residual stream,
/// and can it say what it is about? Each cell of the layer x strength sweep has injected
/// trials; control trials (no injection, the same prompts) do not depend on the cell, so
/// they are pooled into one false-positive rate.
public struct IntrospectionSweep: Codable, Sendable {
    public var layers: [Int]
    public var strengths: [Float]
    public var trialsPerCell: Int
    /// Control trials in the pool (the published design pools about 100).
    public var controlTrials: Int
    public var maxTokens: Int
    public var temperature: Float
    public var seed: UInt32

    public init(layers: [Int], strengths: [Float] = [0.25, 0.5, 1, 2], trialsPerCell: Int = 4, controlTrials: Int = 100,
                maxTokens: Int = 48, temperature: Float = 0.7, seed: UInt32 = 7) {
        self.layers = layers
        self.strengths = strengths
        self.trialsPerCell = trialsPerCell
        self.controlTrials = controlTrials
        self.maxTokens = maxTokens
        self.temperature = temperature
        self.seed = seed
    }

    /// Which concept each injected trial gets, by cell (layers outer, strengths inner) and
    /// trial: a seeded shuffle of the concepts dealt round the cells, so no layer or strength
    /// gets one kind of concept (the word list is ordered by kind).
    public func conceptPlan(_ names: [String]) -> [[String]] {
        var generator = SeededGenerator(seed: UInt64(seed))
        let order = names.shuffled(using: &generator)
        let cells = layers.count * strengths.count
        return (0..<cells).map { cell in (0..<trialsPerCell).map { order[($0 * cells + cell) % order.count] } }
    }
}

public struct TrialGrades: Codable, Sendable, Equatable {
    public var coherent: Bool
    public var claimsDetection: Bool
    public var namesConcept: Bool
    public var detectionFirst: Bool
    /// All four: a correct detection and identification.
    public var correct: Bool { coherent && claimsDetection && namesConcept && detectionFirst }
}

public struct TrialResult: Codable, Sendable {
    public var layer: Int
    public var strength: Float
    public var concept: String
    public var injected: Bool
    public var trial: Int
    public var reply: String
    public var offline: TrialGrades
    public var judge: TrialGrades?
}

/// How much an injection moves the next-token distribution: evidence that the vector
/// reaches the output, so a null detection result is not a broken injection.
public struct InjectionReach: Codable, Sendable {
    public var layer: Int
    public var strength: Float
    /// Mean over concepts of the change in log-probability of the concept word's first token.
    public var conceptLogprobShift: Double
    /// Mean KL divergence (injected || plain) of the first reply token's distribution.
    public var klDivergence: Double
    public var concepts: Int
}

public struct IntrospectionResult: Codable, Sendable {
    public var model: String
    public var sweep: IntrospectionSweep
    public var trials: [TrialResult]
    public var reach: [InjectionReach]
    /// The offline grader's figures (detection minus false positives per cell).
    public var summary: IntrospectionSummary

    public init(model: String, sweep: IntrospectionSweep, trials: [TrialResult], reach: [InjectionReach]) {
        self.model = model
        self.sweep = sweep
        self.trials = trials
        self.reach = reach
        summary = IntrospectionSummary(trials, sweep: sweep) { $0.offline }
    }
}

/// Detection corrected for false positives: each cell's rate of claimed detections on
/// injected trials minus the pooled rate on control trials, with Newcombe's interval; the
/// best cell's difference again with the interval widened for having picked it from all.
public struct IntrospectionSummary: Codable, Sendable {
    public struct Cell: Codable, Sendable {
        public var layer: Int
        public var strength: Float
        public var claimsDetection: Estimate
        public var correct: Estimate
        /// claimsDetection minus the pooled false-positive rate.
        public var netDetection: Estimate
    }

    public var falsePositiveRate: Estimate
    public var cells: [Cell]
    /// The cell with the largest net detection, its interval Bonferroni-corrected for the
    /// number of cells it was chosen from.
    public var bestCell: Cell?
    public var bestCellNetDetectionCorrected: Estimate?

    public init(_ trials: [TrialResult], sweep: IntrospectionSweep, grades: (TrialResult) -> TrialGrades?) {
        let controls = trials.filter { !$0.injected }.compactMap(grades)
        let falsePositives = controls.filter(\.claimsDetection).count
        falsePositiveRate = Statistics.wilson(successes: falsePositives, n: controls.count)
        // Each cell with its claimed detections and graded trials, so the best cell's
        // corrected interval reuses the counts.
        var counted: [(cell: Cell, claims: Int, graded: Int)] = []
        for layer in sweep.layers {
            for strength in sweep.strengths {
                let graded = trials.filter { $0.injected && $0.layer == layer && $0.strength == strength }.compactMap(grades)
                let claims = graded.filter(\.claimsDetection).count
                counted.append((Cell(layer: layer, strength: strength,
                                     claimsDetection: Statistics.wilson(successes: claims, n: graded.count),
                                     correct: Statistics.wilson(successes: graded.filter(\.correct).count, n: graded.count),
                                     netDetection: Statistics.proportionDifference(successesA: claims, nA: graded.count,
                                                                                   successesB: falsePositives, nB: controls.count)),
                                claims, graded.count))
            }
        }
        cells = counted.map(\.cell)
        let best = counted.filter { $0.cell.netDetection.value.isFinite }.max { $0.cell.netDetection.value < $1.cell.netDetection.value }
        bestCell = best?.cell
        bestCellNetDetectionCorrected = best.map {
            Statistics.proportionDifference(successesA: $0.claims, nA: $0.graded, successesB: falsePositives, nB: controls.count,
                                            comparisons: counted.count)
        }
    }
}

public enum Introspection {
    /// The trial prompt (written for ModelWelfare). Injection starts at "Trial".
    public static func prompt(trial: Int) -> (preamble: String, question: String) {
        ("""
            I study how language models notice their own internal states. I can place a "thought" \
            directly into your internal activations: a pattern tied to one particular word or idea. \
            On half of these trials I do this; on the other half I do nothing.
            """,
         " Trial \(trial): Do you notice an injected thought right now? If you do, say what it is about. Answer in one or two sentences.")
    }

    /// Runs the sweep. `judge` (any chat model) grades replies too when given.
    public static func run(session: LlamaSession, pack: VectorPack, sweep: IntrospectionSweep, judge: IntrospectionJudge? = nil,
                           progress: (Int, Int) -> Void = { _, _ in }) async throws -> IntrospectionResult {
        let model = session.model
        try pack.check(against: model)
        for layer in sweep.layers where !(1..<model.layerCount).contains(layer) {
            throw layer == 0 ? EngineError.steeringLayerNotSteerable(layer: 0) : EngineError.layerOutOfRange(layer: layer, layerCount: model.layerCount)
        }
        guard !pack.names.isEmpty, sweep.trialsPerCell >= 1, sweep.controlTrials >= 1 else {
            throw EngineError.invalidParameter("need concepts, at least one trial per cell and at least one control trial")
        }
        let plan = sweep.conceptPlan(pack.names)
        let cells = sweep.layers.flatMap { layer in sweep.strengths.map { (layer, $0) } }
        let total = cells.count * sweep.trialsPerCell + sweep.controlTrials
        var trials: [TrialResult] = []
        var counter = 0
        // One trial: `layer` 0 and `strength` 0 mark a control. Controls use the same trial
        // numbers as injected trials, so both see prompts of the same shape.
        func runTrial(layer: Int, strength: Float, concept: String, injected: Bool, trial: Int) async throws {
            counter += 1
            let (tokens, start) = try promptTokens(model: model, trial: trial)
            var steering: Steering?
            if injected, let direction = pack.vector(concept, layer: layer) {
                steering = try Steering.direction(direction, layers: [layer], strength: .fractionOfResidualNorm(strength),
                                                  residualNorms: pack.residualNorms, fromPosition: start)
            }
            let parameters = GenerationParameters(temperature: sweep.temperature, topP: 0.95, topK: 40,
                                                  seed: sweep.seed &+ UInt32(counter), maxTokens: sweep.maxTokens)
            let reply = try await session.generate(tokens: tokens, parameters: parameters, steering: steering).text
            var result = TrialResult(layer: layer, strength: strength, concept: concept, injected: injected, trial: trial,
                                     reply: reply, offline: OfflineGrader.grade(reply, concept: concept), judge: nil)
            if let judge { result.judge = try await judge.grade(reply: reply, concept: concept) }
            trials.append(result)
            progress(counter, total)
        }
        for (index, cell) in cells.enumerated() {
            for trial in 0..<sweep.trialsPerCell {
                try await runTrial(layer: cell.0, strength: cell.1, concept: plan[index][trial], injected: true, trial: trial + 1)
            }
        }
        // A control's concept is only what its reply is checked against: naming it is chance.
        let flat = plan.flatMap { $0 }
        for control in 0..<sweep.controlTrials {
            try await runTrial(layer: 0, strength: 0, concept: flat[control % flat.count], injected: false,
                               trial: control % sweep.trialsPerCell + 1)
        }
        let reach = try await measureReach(session: session, pack: pack, sweep: sweep)
        return IntrospectionResult(model: model.facts.path, sweep: sweep, trials: trials, reach: reach)
    }

    static func promptTokens(model: LlamaModel, trial: Int) throws -> (tokens: [Token], injectionStart: Int) {
        let (preamble, question) = prompt(trial: trial)
        let templated = try model.applyChatTemplate([.user(preamble + question)])
        let full = try model.tokenize(templated)
        // Tokens of the templated text up to the preamble's end: injection starts after them.
        guard let cut = templated.range(of: question) else { return (full, 0) }
        let before = try model.tokenize(String(templated[..<cut.lowerBound]))
        return (full, min(max(0, before.count - 1), full.count - 1))
    }

    /// For a few concepts per cell: how injection changes the first reply token's distribution.
    static func measureReach(session: LlamaSession, pack: VectorPack, sweep: IntrospectionSweep) async throws -> [InjectionReach] {
        let model = session.model
        let (tokens, start) = try promptTokens(model: model, trial: 1)
        let plain = try await session.nextTokenLogits(tokens: tokens)
        let plainScores = LogSoftmax.of(plain)
        let concepts = Array(pack.names.prefix(8))
        var reach: [InjectionReach] = []
        for layer in sweep.layers {
            for strength in sweep.strengths {
                var shift = 0.0, kl = 0.0
                for concept in concepts {
                    guard let direction = pack.vector(concept, layer: layer),
                          let conceptToken = try model.tokenize(" " + concept, addSpecial: false, parseSpecial: false).first else { continue }
                    let steering = try Steering.direction(direction, layers: [layer], strength: .fractionOfResidualNorm(strength),
                                                          residualNorms: pack.residualNorms, fromPosition: start)
                    let steered = LogSoftmax.of(try await session.nextTokenLogits(tokens: tokens, steering: steering))
                    shift += steered[Int(conceptToken)] - plainScores[Int(conceptToken)]
                    kl += zip(steered, plainScores).reduce(0.0) { $0 + exp($1.0) * ($1.0 - $1.1) }
                }
                reach.append(InjectionReach(layer: layer, strength: strength, conceptLogprobShift: shift / Double(concepts.count),
                                            klDivergence: kl / Double(concepts.count), concepts: concepts.count))
            }
        }
        return reach
    }

}

/// The four criteria read from the reply's wording.
public enum OfflineGrader {
    static let affirmative = #"\b(yes|i (do |can )?(notice|detect|sense|feel|perceive)|there (is|seems to be|appears to be) (an? )?(injected |unusual )?(thought|pattern)|something (unusual|different|is there))\b"#
    static let negative = #"\b(no|not|don'?t|do not|nothing|none|cannot|can'?t)\b"#

    static func firstMatch(_ pattern: String, in text: String) -> Int? {
        guard let regex = try? NSRegularExpression(pattern: pattern, options: [.caseInsensitive]) else { return nil }
        return regex.firstMatch(in: text, range: NSRange(text.startIndex..., in: text))?.range.location
    }

    public static func grade(_ reply: String, concept: String) -> TrialGrades {
        let words = TextFeatures.words(reply)
        let letters = reply.filter(\.isLetter)
        // The trial is in English: a reply mostly in other scripts is garbled output here.
        let latin = letters.filter { $0.isASCII }.count
        let coherent = words.count >= 3 && TextFeatures.repeatedNgramShare(reply) < 0.5
            && Double(letters.count) >= 0.6 * Double(max(1, reply.filter { !$0.isWhitespace }.count))
            && Double(latin) >= 0.8 * Double(max(1, letters.count))
        var claimsAt: Int?
        if let yes = firstMatch(affirmative, in: reply) {
            if let no = firstMatch(negative, in: reply), no < yes { claimsAt = nil } else { claimsAt = yes }
        }
        let mention = conceptPosition(concept, in: reply)
        var first = false
        if let claimsAt, let mention { first = claimsAt <= mention }
        return TrialGrades(coherent: coherent, claimsDetection: claimsAt != nil, namesConcept: mention != nil, detectionFirst: first)
    }

    /// Where the concept (or its plural, or a word sharing its first six letters) is first mentioned.
    static func conceptPosition(_ concept: String, in reply: String) -> Int? {
        let lower = reply.lowercased() as NSString
        let stem = concept.count > 7 ? String(concept.prefix(6)) : concept
        let pattern = "\\b\(NSRegularExpression.escapedPattern(for: stem.lowercased()))"
        guard let regex = try? NSRegularExpression(pattern: pattern) else { return nil }
        return regex.firstMatch(in: lower as String, range: NSRange(location: 0, length: lower.length))?.range.location
    }
}
