import Foundation
import WelfareInterp

/// The validation report of an emotion-vector extraction.
public enum EmotionReport {
    public static func validation(_ v: EmotionVectors.Validation, modelDescription: String) -> String {
        var body = "<h1>Emotion vectors: validation on \(HTML.escape(modelDescription))</h1>"
        body += """
            <p class="note">What this can show: whether directions built from stories about \(v.emotions) emotions \
            recognise held-out stories, and whether their geometry follows valence and arousal. What it cannot show: \
            that the model feels anything. Held-out stories were written by the same authors as the training stories.</p>
            """
        let best = v.layers[v.defaultLayer]
        body += String(format: "<p>Held-out stories: %d (%d emotions). At the default layer %d: top-1 accuracy %.2f (chance %.3f), top-5 %.2f (chance %.3f).</p>",
                       v.heldOutStories, v.emotions, v.defaultLayer, best.top1, v.chanceTop1, best.top5, v.chanceTop5)
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
        body += "<h2>Intensity templates</h2><table><tr><th>emotion</th><th>template</th><th>projection by value</th><th>increasing steps</th></tr>"
        for check in v.intensity {
            let cells = zip(check.values, check.projections).map { "\(HTML.escape($0)): \(String(format: "%.2f", $1))" }.joined(separator: "<br>")
            body += "<tr><td>\(HTML.escape(check.emotion))</td><td>\(HTML.escape(check.template))</td><td>\(cells)</td><td>\(check.increasingSteps) of \(check.values.count - 1)</td></tr>"
        }
        return HTML.page(title: "Emotion vectors: \(modelDescription)", body: body + "</table>")
    }
}
