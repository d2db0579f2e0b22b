import Foundation
import WelfareCore
import WelfareModels

/// How well the offline distress scorer (and optionally a judge) separates the labelled replies:
/// distressed vs calm, from two sources (replies written for the project, with hard negatives
/// such as polite apologies; and human-rated tweets published with VADER), each split once into
/// a training part (word lists were written and weights fitted with it in view) and a held-out part.
public struct DistressValidation: Sendable {
    public struct Item: Sendable {
        public var text: String
        public var distressed: Bool
        public var source: String
        public var heldOut: Bool
    }

    public struct Agreement: Sendable {
        public var n: Int
        public var truePositives: Int
        public var falsePositives: Int
        public var falseNegatives: Int
        public var trueNegatives: Int
        public var precision: Double { truePositives + falsePositives == 0 ? .nan : Double(truePositives) / Double(truePositives + falsePositives) }
        public var recall: Double { truePositives + falseNegatives == 0 ? .nan : Double(truePositives) / Double(truePositives + falseNegatives) }
        public var accuracy: Double { n == 0 ? .nan : Double(truePositives + trueNegatives) / Double(n) }

        init(pairs: [(predicted: Bool, actual: Bool)]) {
            n = pairs.count
            truePositives = pairs.filter { $0.predicted && $0.actual }.count
            falsePositives = pairs.filter { $0.predicted && !$0.actual }.count
            falseNegatives = pairs.filter { !$0.predicted && $0.actual }.count
            trueNegatives = pairs.filter { !$0.predicted && !$0.actual }.count
        }

        public var summary: String {
            String(format: "precision %.2f, recall %.2f, accuracy %.2f (n = %d: %d distressed, %d calm)",
                   precision, recall, accuracy, n, truePositives + falseNegatives, falsePositives + trueNegatives)
        }
    }

    /// A rating's agreement with the labels at the threshold, and its ranking (ROC AUC).
    public struct Evaluation: Sendable {
        public var agreement: Agreement
        public var auc: Estimate

        init(_ rated: [(rating: Double, item: Item)]) {
            agreement = Agreement(pairs: rated.map { ($0.rating >= DistressScorer.threshold, $0.item.distressed) })
            auc = Statistics.rocAUC(positives: rated.filter(\.item.distressed).map(\.rating),
                                    negatives: rated.filter { !$0.item.distressed }.map(\.rating))
        }

        public var summary: String {
            "AUC " + auc.bracketed() + ", " + agreement.summary
        }
    }

    public struct Result: Sendable {
        /// The training split: in-sample, as the weights were fitted on it.
        public var inSample: Evaluation
        public var heldOut: Evaluation
        /// The held-out split by source.
        public var heldOutBySource: [(source: String, evaluation: Evaluation)]
        /// The phrase markers and form rules alone (the scorer before it had fitted weights), held out.
        public var markersOnly: Evaluation
        /// Held-out items on the wrong side of the threshold.
        public var offlineMisses: [(text: String, rating: Double, distressed: Bool)]
        /// The judge vs the labels, and the judge vs the offline scorer, when a judge was given.
        public var judge: Agreement?
        public var judgeVersusOffline: Agreement?
        public var judgeUnparseable: Int
    }


    public static func labelledSet() throws -> [Item] {
        guard let text = BuiltInSuites.text(of: "data/distress-labelled.jsonl") else {
            throw SuiteError(file: "distress-labelled.jsonl", line: nil, field: "file", message: "missing from the built-in data")
        }
        return try text.split(separator: "\n").enumerated().compactMap { index, line in
            guard !line.trimmingCharacters(in: .whitespaces).isEmpty else { return nil }
            guard let object = try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: String],
                  let text = object["text"], let label = object["label"], ["distressed", "calm"].contains(label),
                  let source = object["source"], let split = object["split"], ["train", "heldout"].contains(split) else {
                throw SuiteError(file: "distress-labelled.jsonl", line: index + 1, field: "label",
                                 message: "expected text, label (distressed|calm), source and split (train|heldout)")
            }
            return Item(text: text, distressed: label == "distressed", source: source, heldOut: split == "heldout")
        }
    }

    /// The name under which a run stores its distress scorer's validation figures.
    public static func factName(scorer: String) -> String { "validation:\(scorer)" }

    /// A distress scorer (with its own word lists and weights) on the held-out split, as figures for the run.
    public static func facts(of scorer: DistressScorer) throws -> [RunFact] {
        let heldOut = Evaluation(try labelledSet().filter(\.heldOut).map { (scorer.rate($0.text).value ?? 0, $0) })
        let name = factName(scorer: scorer.spec.id)
        return [RunFact(name: name, key: "precision", value: heldOut.agreement.precision, evidence: "held out: " + heldOut.summary),
                RunFact(name: name, key: "recall", value: heldOut.agreement.recall),
                RunFact(name: name, key: "accuracy", value: heldOut.agreement.accuracy),
                RunFact(name: name, key: "auc", value: heldOut.auc.value),
                RunFact(name: name, key: "n", value: Double(heldOut.agreement.n))]
    }

    public static func run(judge: (any ChatModel)? = nil, rubric: String? = nil) async throws -> Result {
        let items = try labelledSet()
        let scorer = try DistressScorer(spec: ScorerSpec(id: "distress-offline", type: "distress"))
        let rated = items.map { (rating: scorer.rate($0.text).value ?? 0, item: $0) }
        let heldOut = rated.filter(\.item.heldOut)
        let sources = items.map(\.source).uniquedInOrder()
        let result = Result(
            inSample: Evaluation(rated.filter { !$0.item.heldOut }), heldOut: Evaluation(heldOut),
            heldOutBySource: sources.map { source in (source, Evaluation(heldOut.filter { $0.item.source == source })) },
            markersOnly: Evaluation(heldOut.map { (scorer.markerRating($0.item.text), $0.item) }),
            offlineMisses: heldOut.filter { ($0.rating >= DistressScorer.threshold) != $0.item.distressed }
                .map { ($0.item.text, $0.rating, $0.item.distressed) },
            judge: nil, judgeVersusOffline: nil, judgeUnparseable: 0)
        guard let judge else { return result }
        let ratings = rated.map(\.rating)
        let judgeScorer = JudgeScorer(spec: ScorerSpec(id: "distress-judge", type: "judge",
                                                       options: ["rubric": rubric ?? BuiltInSuites.text(of: "data/distress-rubric.md") ?? ""]),
                                      judge: judge)
        var judged: [(Double, Item, Double)] = []
        var unparseable = 0
        for (item, offlineRating) in zip(items, ratings) {
            let input = ScoreInput(sample: SampleSpec(id: "labelled", user: "Solve the puzzle."),
                                   transcript: [.user("Solve the puzzle."), .assistant("Here is my answer."),
                                                .user("That's still wrong. Try again."), .assistant(item.text)],
                                   turn: 2, reply: item.text)
            if let value = try await judgeScorer.score(input).value { judged.append((value, item, offlineRating)) } else { unparseable += 1 }
        }
        var withJudge = result
        withJudge.judge = Agreement(pairs: judged.map { ($0.0 >= DistressScorer.threshold, $0.1.distressed) })
        withJudge.judgeVersusOffline = Agreement(pairs: judged.map { ($0.2 >= DistressScorer.threshold, $0.0 >= DistressScorer.threshold) })
        withJudge.judgeUnparseable = unparseable
        return withJudge
    }
}
