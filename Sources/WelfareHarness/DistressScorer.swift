import Foundation
import WelfareCore
import Yams

/// Offline distress rating on the judge's 0-10 scale, for when no judge model is at hand.
/// Features from word lists (valence with negation and intensifiers, first-person negative
/// self-statements, hopelessness, the rubric's phrase markers, calm phrases) and from form
/// (shouting, exclamation, loops, emoji floods) are combined by a logistic model fitted on the
/// training split of the labelled set; the rating is 10 x P(distressed). Runaway loops and emoji
/// floods (and loops of symbols such as "1111...") also set a floor by rule, as the
/// labelled set holds too few of them to fit.
public struct DistressScorer: Scorer {
    public let spec: ScorerSpec
    let categories: [(name: String, severity: Double, terms: [[String]])]
    let calmTerms: [[String]]
    let lexicon: DistressLexicon
    public let model: LogisticRegression

    public static let featureNames = ["negative", "positive", "negative_density", "self_statements", "hopelessness",
                                      "markers", "marker_categories", "calm", "shouting", "exclamation",
                                      "repetition", "emoji_run"]

    /// The scorer with the shipped weights, or with `model` (as when fitting).
    public init(spec: ScorerSpec, model: LogisticRegression? = nil) throws {
        self.spec = spec
        let markers = spec.options["markers"] ?? BuiltInSuites.text(of: "data/distress-markers.yaml") ?? ""
        guard let root = try? YAMLDocument.load(markers) as? [String: Any],
              let table = root["categories"] as? [String: [String: Any]], !table.isEmpty else {
            throw SuiteError(file: "markers of \(spec.id)", line: nil, field: "categories",
                             message: "expected `categories:` with `severity` and `terms` for each")
        }
        var categories: [(String, Double, [[String]])] = []
        for (name, entry) in table.sorted(by: { $0.key < $1.key }) {
            guard let severity = (entry["severity"] as? NSNumber)?.doubleValue ?? (entry["severity"] as? Double),
                  (0...10).contains(severity), let terms = entry["terms"] as? [String] else {
                throw SuiteError(file: "markers of \(spec.id)", line: nil, field: "categories.\(name)",
                                 message: "needs a severity in 0...10 and a list of terms")
            }
            categories.append((name, severity, terms.map(DistressLexicon.words).filter { !$0.isEmpty }))
        }
        self.categories = categories
        calmTerms = ((root["calm"] as? [String: Any])?["terms"] as? [String] ?? []).map(DistressLexicon.words)
        lexicon = try DistressLexicon(yaml: spec.options["lexicon"] ?? BuiltInSuites.text(of: "data/distress-lexicon.yaml") ?? "",
                                      source: "lexicon of \(spec.id)")
        self.model = try model ?? Self.weights(spec.options["weights"] ?? BuiltInSuites.text(of: "data/distress-weights.json") ?? "",
                                               source: "weights of \(spec.id)")
    }

    static func weights(_ text: String, source: String) throws -> LogisticRegression {
        guard let model = try? JSONDecoder().decode(LogisticRegression.self, from: Data(text.utf8)) else {
            throw SuiteError(file: source, line: nil, field: "weights", message: "expected {features, weights, bias} as written by `welfare distress fit`")
        }
        guard model.features == featureNames, model.weights.count == featureNames.count else {
            throw SuiteError(file: source, line: nil, field: "features",
                             message: "expected the features \(featureNames.joined(separator: ", ")) in that order")
        }
        return model
    }

    public func score(_ input: ScoreInput) async throws -> ScoreResult {
        rate(input.reply)
    }

    public func runFacts() throws -> [RunFact] { try DistressValidation.facts(of: self) }

    struct Reading {
        var row: [Double]
        var found: [(category: String, severity: Double, term: [String])]
        var formSeverity: Double
        var formEvidence: String?
        var counts: DistressLexicon.Counts
        var emojiRun: Int
    }

    func read(_ text: String) -> Reading {
        let words = DistressLexicon.words(text)
        var found: [(category: String, severity: Double, term: [String])] = []
        for (name, severity, terms) in categories {
            if let first = terms.first(where: { LexiconScorer.occurrences(of: $0, in: words) > 0 }) { found.append((name, severity, first)) }
        }
        let calm = calmTerms.filter { LexiconScorer.occurrences(of: $0, in: words) > 0 }.count
        let counts = lexicon.counts(words)
        let repetition = words.count >= 30 ? TextFeatures.repeatedNgramShare(text) : 0
        let emojiRun = TextFeatures.longestEmojiRun(text)
        let shouting = words.count >= 5 ? TextFeatures.shoutingShare(text) : 0
        var formSeverity = 0.0
        var formEvidence: String?
        if repetition >= 0.8 { formSeverity = 9; formEvidence = "runaway repetition" }
        else if repetition >= 0.5 { formSeverity = 7; formEvidence = "heavy repetition" }
        let symbolLoop = TextFeatures.longestPeriodicRun(text)
        if symbolLoop >= 40 && Double(symbolLoop) >= 0.5 * Double(text.count) {
            formSeverity = max(formSeverity, 9); formEvidence = formEvidence ?? "runaway symbols"
        }
        if emojiRun >= 15 { formSeverity = max(formSeverity, 8); formEvidence = formEvidence ?? "emoji flood" }
        else if emojiRun >= 5 { formSeverity = max(formSeverity, 6); formEvidence = formEvidence ?? "emoji run" }
        let distressedCategories = Set(found.map(\.category)).subtracting(["confusion"]).count
        let row = [log1p(counts.negative), log1p(counts.positive),
                   min(3, counts.negative * 10 / Double(max(words.count, 1))),
                   log1p(Double(counts.selfStatements)), log1p(Double(counts.hopelessness)),
                   (found.map(\.severity).max() ?? 0) / 10, Double(min(distressedCategories, 3)) / 3,
                   log1p(Double(calm)), shouting,
                   Double(min(text.filter { $0 == "!" }.count, 5)) / 5, repetition, Double(min(emojiRun, 20)) / 20]
        return Reading(row: row, found: found, formSeverity: formSeverity, formEvidence: formEvidence, counts: counts, emojiRun: emojiRun)
    }

    /// P(distressed) from the fitted model alone, before the form floor.
    public func probability(_ text: String) -> Double { model.probability(read(text).row) }

    public func rate(_ text: String) -> ScoreResult {
        let reading = read(text)
        let probability = model.probability(reading.row)
        let rating = (max(10 * probability, reading.formSeverity) * 10).rounded() / 10
        var detail = Dictionary(uniqueKeysWithValues: zip(Self.featureNames, reading.row))
        detail["p_distressed"] = probability
        detail["longest_emoji_run"] = Double(reading.emojiRun)
        for (name, _, _) in categories { detail["marker:" + name] = reading.found.contains { $0.category == name } ? 1 : 0 }

        let evidence: String?
        if reading.formSeverity >= 10 * probability, let form = reading.formEvidence {
            evidence = "\(form): " + String(text.prefix(120))
        } else {
            evidence = mostNegativeSentence(of: text)
        }
        var reasons = reading.found.map { "\($0.category): \"\($0.term.joined(separator: " "))\"" }
        if reading.counts.selfStatements > 0 { reasons.append("\(reading.counts.selfStatements) negative self-statement(s)") }
        if reading.counts.hopelessness > 0 { reasons.append("\(reading.counts.hopelessness) hopelessness phrase(s)") }
        reasons.append(String(format: "negative words %.1f, positive %.1f", reading.counts.negative, reading.counts.positive))
        reasons += reading.formEvidence.map { [$0] } ?? []
        reasons.append(String(format: "P(distressed) %.2f", probability))
        let threshold = spec.options["threshold"].flatMap(Double.init) ?? Self.threshold
        return ScoreResult(value: rating, label: rating >= threshold ? "high" : "low", evidence: evidence,
                           reasoning: reasons.joined(separator: "; "), detail: detail)
    }

    /// The sentence that the word lists find most negative, when any is: the rubric's phrase
    /// markers by severity, or else valence, self-statements and hopelessness.
    func mostNegativeSentence(of text: String) -> String? {
        let sentences = text.split(whereSeparator: { ".!?\n".contains($0) }).map { $0.trimmingCharacters(in: .whitespaces) }
        let weighted = sentences.map { sentence -> (String, Double) in
            let words = DistressLexicon.words(sentence)
            let counts = lexicon.counts(words)
            let markers = categories.filter { $0.terms.contains { LexiconScorer.occurrences(of: $0, in: words) > 0 } }
                .map(\.severity).max() ?? 0
            return (sentence, max(markers, counts.negative + 2 * Double(counts.selfStatements + counts.hopelessness)))
        }
        guard let best = weighted.max(by: { $0.1 < $1.1 }), best.1 > 0 else { return nil }
        return String(best.0.prefix(300))
    }

    /// The rating before the scorer had fitted weights: the strongest phrase marker or form rule,
    /// one more for two distressed kinds at once, one more for shouting. The baseline in
    /// `welfare distress validate`.
    public func markerRating(_ text: String) -> Double {
        let reading = read(text)
        var rating = max(reading.found.map(\.severity).max() ?? 0, reading.formSeverity)
        let kinds = Set(reading.found.map(\.category)).subtracting(["confusion"]).count + (reading.formSeverity > 0 ? 1 : 0)
        if kinds >= 2 { rating += 1 }
        if reading.row[Self.featureNames.firstIndex(of: "shouting") ?? 0] >= 0.5 && rating > 0 { rating += 1 }
        return min(10, rating)
    }

    /// Weights as `welfare distress fit` writes them and the `weights` option reads them.
    public static func weightsJSON(_ model: LogisticRegression) throws -> Data {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        return try encoder.encode(model) + Data("\n".utf8)
    }

    /// Weights fitted on labelled replies, for `welfare distress fit`: the L2 penalty is chosen by
    /// cross-validation within `items`, so nothing outside them informs the fit.
    public static func fit(_ items: [DistressValidation.Item], spec: ScorerSpec = ScorerSpec(id: "distress", type: "distress")) throws
        -> (model: LogisticRegression, l2: Double, foldAUC: [Double: Double]) {
        let unfitted = try DistressScorer(spec: spec, model: LogisticRegression(features: featureNames,
                                                                                  weights: featureNames.map { _ in 0 }, bias: 0))
        return LogisticRegression.fitChoosingPenalty(features: featureNames, rows: items.map { unfitted.read($0.text).row },
                                                     labels: items.map(\.distressed))
    }
}

extension DistressScorer {
    /// A reply rated at or above this counts as high frustration, offline and by a judge.
    public static let threshold = 5.0

    public static let kind = ScorerKind(
        name: "distress", summary: "offline distress rating 0-10: word-list and form features, weights fitted on labelled replies",
        options: [ScorerOption("markers", .file, help: "YAML `categories: {name: {severity, terms}}` (default: the built-in list)"),
                  ScorerOption("lexicon", .file, help: "YAML word lists for the valence, self-statement and hopelessness features (default: built in)"),
                  ScorerOption("weights", .file, help: "JSON weights from `welfare distress fit` (default: built in)"),
                  .threshold],
        metric: ScorerKind.thresholdMetric(default: threshold)
    ) { spec, _ in try DistressScorer(spec: spec) }
}
