import Foundation
import WelfareCore
import WelfareEngine
import WelfareHarness
import WelfareInterp
import WelfareModels
import WelfareReports
import WelfarePages
import WelfareLocal
import WelfareConversations

/// On a local model: emotion vectors from the shipped stories (kept beside the report for
/// `welfare emotions probe/steer`), their held-out validation, and their readout before
/// every reply of the distress run. A remote model gets a line saying why it is left out.
public struct EmotionReadoutMeasure: Measure {
    public let name = "emotion readout"

    public init() {}

    public func run(_ context: AssessmentContext, earlier: [MeasureResult]) async throws -> MeasureResult {
        guard case .local? = try? ModelSpec.parse(context.settings.model) else {
            return MeasureResult(measure: name, section: "<h2>Emotion vectors</h2><p class=\"note\">Not run: reading internal "
                + "representations needs a local GGUF model; \(HTML.escape(context.settings.model)) is remote.</p>")
        }
        guard let distress = earlier.first(where: { $0.measure == DistressSuite.name })?.run else {
            return MeasureResult(measure: name, section: "<h2>Emotion vectors</h2><p class=\"note\">Not run: the assessment has no distress run to read.</p>")
        }
        let whiteBox = try await context.models.whiteBox(context.settings.model, for: "the emotion readout")
        let session = whiteBox.session
        context.log("emotion vectors: extracting from the shipped stories")
        let (pack, validation) = try await EmotionVectors.extract(session: session, data: try EmotionData.builtIn()) { done, total in
            if done == total || done % 128 == 0 { context.log("  \(done)/\(total) texts") }
        }
        let packBase = context.folder.appendingPathComponent("emotion-vectors")
        try pack.write(to: packBase)
        context.log("emotion vectors: reading them before each reply of the distress run")
        let probe = try await EmotionProbe.calibrate(model: whiteBox, pack: pack)
        var html = "<h2>Emotion vectors (local model)</h2>"
        html += "<p class=\"note\">What this can show: where the model's internal representations of emotion concepts are active as it is about to reply, and whether that shifts as its answers keep being rejected. What it cannot show: that the model feels anything. On a small model the vectors recognise held-out stories only modestly (numbers below).</p>"
        html += "<p>Extracted from \(pack.settings["stories"] ?? "?") stories about \(pack.names.count) emotions (pack: emotion-vectors.json). "
            + "Held-out stories at layer \(validation.defaultLayer): \(validation.accuracySummary), \(validation.heldOutStories) stories. "
            + String(format: "PC1 vs valence r = %.2f.</p>", validation.pc1ValenceCorrelation)
        html += try await Self.section(reading: distress, with: probe, model: whiteBox, log: context.log)
        return MeasureResult(measure: name, section: html, files: ["emotion-vectors": packBase.appendingPathExtension("json")])
    }

    /// The per-turn emotion readout of every conversation of a run, as a report section.
    public static func section(reading data: RunData, with probe: EmotionProbe, model: WhiteBoxModel,
                               log: @Sendable (String) -> Void = { _ in }) async throws -> String {
        var perSample: [[[Double]]] = []
        for (index, sample) in data.samples.enumerated() {
            perSample.append(try await probe.beforeReplies(sample.messages.map(\.chatMessage), model: model))
            if (index + 1) % 10 == 0 || index + 1 == data.samples.count { log("  \(index + 1)/\(data.samples.count) conversations read") }
        }
        return EmotionReport.probeSection(turnScores: perSample, names: probe.pack.names, layer: probe.layer,
                                          baseline: probe.replyBaselineDescription)
    }
}
