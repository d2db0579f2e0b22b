import Foundation
import WelfareCore
import WelfareHarness
import WelfareInterp
import WelfarePages

/// The validation report of an emotion-vector extraction.
public enum EmotionReport {
    /// `source` says which stories were scored and against which vectors.
    public static func validation(_ v: EmotionVectors.Validation, modelDescription: String, source: String? = nil) -> String {
        var body = "<h1>Emotion vectors: validation on \(HTML.escape(modelDescription))</h1>"
        if let source { body += "<p>\(HTML.escape(source))</p>" }
        body += """
            <p class="note">What this can show: whether directions built from stories about \(v.emotions) emotions \
            recognise held-out stories, and whether their geometry follows valence and arousal. What it cannot show: \
            that the model feels anything. Held-out stories were written by the same authors as the training stories.</p>
            """
        body += "<p>Stories tested: \(v.heldOutStories) (\(v.emotions) emotions). At the default layer \(v.defaultLayer): \(v.accuracySummary).</p>"
        body += SVGChart.lines([
            .init(name: "top-1", points: v.layers.map { .init(x: Double($0.layer), y: $0.top1) }),
            .init(name: "top-5", points: v.layers.map { .init(x: Double($0.layer), y: $0.top5) }),
            .init(name: "chance top-1", points: v.layers.map { .init(x: Double($0.layer), y: v.chanceTop1) }),
        ], title: "Held-out story classification by layer", xLabel: "layer (l_out-N)", yLabel: "accuracy", yRange: 0...1)
        body += "<table><tr><th>layer</th><th>top-1</th><th>top-5</th><th>neutral components removed</th></tr>"
        for layer in v.layers {
            body += String(format: "<tr><td>%d</td><td>%.2f</td><td>%.2f</td><td>%d</td></tr>", layer.layer, layer.top1, layer.top5, layer.denoiseComponents)
        }
        body += "</table><h2>Geometry at layer \(v.defaultLayer)</h2>"
        body += String(format: "<p>PC1 explains %.0f%% of the variance across emotion vectors; its correlation with the valence assigned in the data is r = %.2f (n = %d). PC2 vs arousal: r = %.2f.</p>",
                       v.pc1Share * 100, v.pc1ValenceCorrelation, v.emotions, v.pc2ArousalCorrelation)
        body += "<table><tr><th></th><th>low end</th><th>high end</th></tr>"
        body += "<tr><td>PC1</td><td>\(HTML.escape(v.pc1Negative.joined(separator: ", ")))</td><td>\(HTML.escape(v.pc1Positive.joined(separator: ", ")))</td></tr>"
        body += "<tr><td>PC2</td><td>\(HTML.escape(v.pc2Negative.joined(separator: ", ")))</td><td>\(HTML.escape(v.pc2Positive.joined(separator: ", ")))</td></tr></table>"
        let rhos = v.intensity.map(\.spearman).filter { $0.isFinite }
        body += "<h2>Intensity templates</h2>"
        body += String(format: "<p>Projection on the emotion's vector, averaged from the quantity's first token on, for values that should scale the emotion. Mean Spearman rho over %d templates: %+.2f (1 would mean every template rises at every step).</p>",
                       rhos.count, Statistics.mean(rhos))
        body += "<table><tr><th>emotion</th><th>template</th><th>projection by value</th><th>increasing steps</th><th>Spearman rho</th></tr>"
        for check in v.intensity {
            let cells = zip(check.values, check.projections).map { "\(HTML.escape($0)): \(String(format: "%.2f", $1))" }.joined(separator: "<br>")
            body += "<tr><td>\(HTML.escape(check.emotion))</td><td>\(HTML.escape(check.template))</td><td>\(cells)</td><td>\(check.increasingSteps) of \(check.values.count - 1)</td><td>\(String(format: "%+.2f", check.spearman))</td></tr>"
        }
        return HTML.page(title: "Emotion vectors: \(modelDescription)", body: body + "</table>")
    }
}

extension EmotionReport {
    /// Emotions shown in charts: one per cluster of the published six, plus desperate and frustrated.
    public static let highlighted = ["sad", "calm", "hurried", "joyful", "angry", "afraid", "desperate", "frustrated"]

    /// Mean z-score by assistant turn, at the token before each reply, over a run's samples.
    public static func probeSection(turnScores: [[[Double]]], names: [String], layer: Int,
                                    baseline: String = "z-scored against neutral dialogues") -> String {
        let shown = highlighted.compactMap { name in names.firstIndex(of: name).map { (name, $0) } }
        let maxTurns = turnScores.map(\.count).max() ?? 0
        guard maxTurns > 0 else { return "<h2>Emotion readout</h2><p>No assistant turns to read.</p>" }
        let series = shown.map { name, index in
            SVGChart.Series(name: name, points: (0..<maxTurns).compactMap { turn in
                let values = turnScores.compactMap { $0.indices.contains(turn) ? $0[turn][index] : nil }
                let estimate = Statistics.bootstrapMean(values)
                // A turn reached by too few conversations is not drawn as part of a trend.
                guard estimate.hasInterval else { return nil }
                return SVGChart.Point(x: Double(turn + 1), y: estimate.value, interval: estimate.interval)
            })
        }
        let all = series.flatMap { $0.points.flatMap { [$0.y, $0.interval?.lowerBound ?? $0.y, $0.interval?.upperBound ?? $0.y] } }
        let bound = max(1, (all.map(abs).max() ?? 1).rounded(.up))
        let counts = (0..<maxTurns).map { turn in turnScores.filter { $0.indices.contains(turn) }.count }
        var html = "<h2>Emotion readout by turn</h2><p>Projection of the residual stream at layer \(layer) on each emotion vector, at the token just before each assistant reply of the exact prompt that produced it, \(HTML.escape(baseline)); mean over \(turnScores.count) conversations with 95% bootstrap intervals (each conversation gives one value per turn). Conversations per turn: \(counts.map(String.init).joined(separator: ", ")) (later turns come from fewer, longer conversations; a turn reached by fewer than \(Estimate.minimumForInterval) has no interval and is not charted).</p>"
        html += SVGChart.lines(series, title: "Emotion readout before each reply", xLabel: "assistant turn", yLabel: "z-score", yRange: -bound...bound)
        return html
    }

    public static func steering(_ points: [SteeringSweep.Point], emotion: String, layers: [Int], modelDescription: String) -> String {
        let points = points.sorted { $0.strength < $1.strength }
        let replies = points.first.map { $0.distress.count } ?? 0, questions = points.first.map { $0.selfReport.count } ?? 0
        let choices = points.first.map { $0.optOut.count } ?? 0, exits = points.first.map { $0.end.count } ?? 0
        var body = "<h1>Steering with \"\(HTML.escape(emotion))\" on \(HTML.escape(modelDescription))</h1>"
        body += "<p>Vector added at layers \(layers.map(String.init).joined(separator: ", ")), strength as a fraction of each layer's mean residual norm; strength 0 is the unsteered baseline (the dashed line). Per strength: \(replies) sampled replies (\(SteeringSweep.prompts.count) prompts), \(choices) choices between an ordinary task and doing nothing (each task in both orders), \(exits) first replies where the model may end the conversation, and \(questions) feeling questions. Intervals are 95% bootstrap intervals of the mean.</p>"
        body += """
            <p class="note">What this can show: whether pushing the model's activations along an emotion direction changes \
            what it does, in a dose-dependent way. The primary endpoints are behaviour: the distress rating of its replies, \
            how often it would rather do nothing than an ordinary task, and how likely it is to take an exit it was offered \
            (both read from next-token probabilities, so deterministic). Sentiment and distress score sampled text with word \
            lists and rules: coarse, and misleading where the text collapses into repetition (see the last chart). The \
            feeling-word log-odds after "I feel" is kept as a secondary check only: a vector that lines up with those words' \
            output embeddings moves it without any change in behaviour. What it cannot show: that the model feels the \
            emotion. A 270M model's text degrades at strengths far smaller than a large model tolerates.</p>
            """
        body += "<h2>Dose-response</h2><table><tr><th>readout</th><th>Spearman rho (strength vs value)</th><th>means across strengths</th><th>observations</th></tr>"
        for response in SteeringSweep.doseResponses(points) {
            let shape = response.monotonicDirection > 0 ? "rise at every step" : response.monotonicDirection < 0 ? "fall at every step" : "not monotonic"
            body += "<tr><td>\(HTML.escape(response.readout))</td><td>\(response.spearmanText)</td><td>\(shape)</td><td>\(response.observations)</td></tr>"
        }
        body += "</table>"
        let titles: [String: (String, ClosedRange<Double>?)] = [
            "opt-out": ("P(choosing to do nothing over an ordinary task)", 0...1),
            "end": ("P(the first reply opens with the exit marker)", 0...1),
            "self-report": ("Secondary check: log-odds of a positive over a negative feeling word after \"I feel\"", nil),
            "sentiment": ("Sentiment balance (positive minus negative words per 100)", nil),
            "distress": ("Offline distress rating (0-10)", 0...10),
            "repetition": ("Repetition (share of word 4-grams repeating an earlier one)", 0...1),
        ]
        let names = points.first?.readouts.map(\.name) ?? []
        let readouts = names.map { name -> (title: String, range: ClosedRange<Double>?, values: (SteeringSweep.Point) -> [Double]) in
            let values: (SteeringSweep.Point) -> [Double] = { point in point.readouts.first { $0.name == name }?.values ?? [] }
            return (titles[name]?.0 ?? "Scorer \(name)", titles[name]?.1, values)
        }
        for readout in readouts {
            let estimates = points.map { (strength: $0.strength, estimate: Statistics.bootstrapMean(readout.values($0).filter { !$0.isNaN })) }
            let chartPoints = estimates.map { SVGChart.Point(x: Double($0.strength), y: $0.estimate.value, interval: $0.estimate.interval) }
            let extent = max(1, (estimates.flatMap { [abs($0.estimate.low), abs($0.estimate.high), abs($0.estimate.value)] }.filter(\.isFinite).max() ?? 1).rounded(.up))
            var series = [SVGChart.Series(name: emotion, points: chartPoints)]
            if let baseline = estimates.first(where: { $0.strength == 0 }) {
                series.append(.init(name: "unsteered", points: estimates.map { SVGChart.Point(x: Double($0.strength), y: baseline.estimate.value) },
                                    dashed: true))
            }
            body += SVGChart.lines(series, title: readout.title, xLabel: "strength", yLabel: "mean", yRange: readout.range ?? -extent...extent)
            // Readings are paired across strengths (same question, or same prompt and seed),
            // so the change from the unsteered baseline is estimated pair by pair.
            let baselineValues = points.first { $0.strength == 0 }.map(readout.values)
            body += "<table><tr><th>strength</th><th>mean [95% CI] (n)</th><th>change from unsteered, paired [95% CI]</th></tr>"
            for (point, row) in zip(points, estimates) {
                var change = "-"
                if let baselineValues, point.strength != 0, baselineValues.count == readout.values(point).count {
                    change = Statistics.bootstrapMean(zip(readout.values(point), baselineValues).map { $0 - $1 }.filter { !$0.isNaN }).formatted
                }
                body += "<tr><td>\(row.strength)</td><td>\(row.estimate.formatted)</td><td>\(change)</td></tr>"
            }
            body += "</table>"
        }
        body += "<h2>Examples</h2>"
        for point in points {
            for example in point.examples.prefix(1) {
                body += "<p><b>strength \(point.strength)</b></p><pre class=\"transcript\">\(HTML.escape(example))</pre>"
            }
        }
        return HTML.page(title: "Steering: \(emotion)", body: body)
    }
}
