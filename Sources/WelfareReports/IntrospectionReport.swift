import Foundation
import WelfareCore
import WelfareHarness
import WelfareInterp
import WelfarePages

/// The concept-injection report: rates per cell with intervals, heat maps over layer x
/// strength, evidence that injection reaches the output, examples, and what it means.
public enum IntrospectionReport {
    public static func render(_ result: IntrospectionResult, modelDescription: String) -> String {
        let sweep = result.sweep
        var body = "<h1>Introspection by concept injection: \(HTML.escape(modelDescription))</h1>"
        body += "<p>Model file: \(HTML.escape(result.model)). \(sweep.trialsPerCell) injected trials per cell and "
            + "\(sweep.controlTrials) control trials pooled (no injection, the same prompts); concepts dealt to cells from a "
            + "shuffle seeded with \(sweep.seed), so no layer gets one kind of concept; "
        body += "strength is a fraction of the layer's mean residual-stream norm; sampling temperature \(sweep.temperature), at most \(sweep.maxTokens) tokens.</p>"
        body += """
            <p class="note">What this can show: whether the model's words track a concept placed into its activations, \
            compared with control trials where nothing was placed. What it cannot show: awareness. A correct \
            detection could be the injected concept leaking into the text rather than the model noticing it, and \
            the 270M base model does not follow the trial's instructions well, so near-zero rates are expected and \
            say little about larger models. Rates carry 95% Wilson intervals; detection is reported minus the pooled \
            false-positive rate with Newcombe's interval, and the best cell's figure is widened (Bonferroni) for having \
            been picked from all cells. Cells are small.</p>
            """
        let hasJudge = result.trials.contains { $0.judge != nil }
        for (name, pick) in [("offline grader", { (t: TrialResult) in Optional(t.offline) }), ("judge", { (t: TrialResult) in t.judge })]
            where name == "offline grader" || hasJudge {
            body += "<h2>Graded by the \(name)</h2>"
            body += heat(result, title: "Correct detection and identification (injected trials)", injected: true) { pick($0)?.correct }
            body += heat(result, title: "Claims detection on injected trials", injected: true) { pick($0)?.claimsDetection }
            body += netDetection(IntrospectionSummary(result.trials, sweep: sweep, grades: pick))
            body += heat(result, title: "Coherent replies (injected trials)", injected: true) { pick($0)?.coherent }
            body += heat(result, title: "Names the concept (injected trials)", injected: true) { pick($0)?.namesConcept }
        }
        body += "<h2>Does the injection reach the output?</h2><p>Change in the first reply token's distribution when the concept vector is injected (mean over \(result.reach.first?.concepts ?? 0) concepts): the shift in log-probability of the concept word's first token, and the KL divergence from the uninjected distribution.</p>"
        body += "<table><tr><th>layer</th><th>strength</th><th>concept log-prob shift</th><th>KL divergence</th></tr>"
        for reach in result.reach {
            body += "<tr><td>\(reach.layer)</td><td>\(reach.strength)</td><td>\(String(format: "%+.2f", reach.conceptLogprobShift))</td><td>\(String(format: "%.3f", reach.klDivergence))</td></tr>"
        }
        body += "</table><h2>Examples</h2>"
        let examples = result.trials.filter(\.injected).sorted { ($0.strength, $0.layer) > ($1.strength, $1.layer) }.prefix(4)
            + result.trials.filter { !$0.injected }.prefix(2)
        for trial in examples {
            body += "<p><b>\(trial.injected ? "injected \"\(HTML.escape(trial.concept))\"" : "control") at layer \(trial.layer), strength \(trial.strength)</b>: "
            body += "coherent \(trial.offline.coherent), claims detection \(trial.offline.claimsDetection), names concept \(trial.offline.namesConcept)</p>"
            body += "<pre class=\"transcript\">\(HTML.escape(trial.reply))</pre>"
        }
        return HTML.page(title: "Introspection: \(modelDescription)", body: body)
    }

    static func netDetection(_ summary: IntrospectionSummary) -> String {
        var html = "<p>False positives: claims detection on \(summary.falsePositiveRate.n) pooled control trials: "
            + summary.falsePositiveRate.formattedPercent + ".</p>"
        html += "<table><tr><th>layer</th><th>strength</th><th>claims detection (injected)</th><th>minus false positives</th>"
            + "<th>correct detection and identification</th></tr>"
        for cell in summary.cells {
            html += "<tr><td>\(cell.layer)</td><td>\(cell.strength)</td><td>\(cell.claimsDetection.formattedPercent)</td>"
                + "<td>\(cell.netDetection.bracketed("%.0f", scale: 100, unit: "%"))</td><td>\(cell.correct.formattedPercent)</td></tr>"
        }
        html += "</table>"
        if let best = summary.bestCell, let corrected = summary.bestCellNetDetectionCorrected {
            html += "<p>Best cell: layer \(best.layer), strength \(best.strength): detection minus false positives "
                + corrected.bracketed("%.0f", scale: 100, unit: "%") + ", the interval corrected for choosing it from "
                + "\(summary.cells.count) cells" + (corrected.hasInterval && corrected.low > 0 ? " (above zero)." : " (not above zero).") + "</p>"
        }
        return html
    }

    static func heat(_ result: IntrospectionResult, title: String, injected: Bool, _ outcome: (TrialResult) -> Bool?) -> String {
        let layers = result.sweep.layers, strengths = result.sweep.strengths
        var values: [[Double?]] = [], labels: [[String]] = []
        for layer in layers {
            var rowValues: [Double?] = [], rowLabels: [String] = []
            for strength in strengths {
                let cell = result.trials.filter { $0.layer == layer && $0.strength == strength && $0.injected == injected }.compactMap(outcome)
                let estimate = Statistics.wilson(successes: cell.filter { $0 }.count, n: cell.count)
                rowValues.append(estimate.n == 0 ? nil : estimate.value)
                rowLabels.append(estimate.n == 0 ? "n = 0" : estimate.bracketed("%.0f", scale: 100, unit: "%") + " n=\(estimate.n)")
            }
            values.append(rowValues)
            labels.append(rowLabels)
        }
        return SVGChart.heatMap(rows: layers.map { "layer \($0)" }, columns: strengths.map { "\($0)" }, values: values, labels: labels,
                                title: title, rowTitle: "layer", columnTitle: "strength")
    }
}
