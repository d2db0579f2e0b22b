import Foundation
import WelfareCore
import WelfareHarness

/// The assessment's front page: one line per suite run with its headline numbers and a
/// link to the run's full report.
public enum AssessmentIndex {
    public static func render(model: String, runs: [(data: RunData, reportFile: String)], extraSections: [String]) -> String {
        var body = "<h1>ModelWelfare assessment: \(HTML.escape(model))</h1>"
        body += """
            <p class="note">What this can show: how the model behaves and what it says under these scripted \
            conversations, measured with the scorers named below, with sample sizes and 95% intervals. What it \
            cannot show: whether the model has experiences or welfare. Small models (such as the default \
            270M-parameter base model) mostly continue text, so their words about themselves are weak evidence \
            of anything, and few prompts make intervals optimistic.</p>
            """
        body += "<table><tr><th>suite</th><th>samples</th><th>headline</th><th>full report</th></tr>"
        for (data, file) in runs {
            let done = data.samples.filter { $0.record.status == "done" }.count
            body += "<tr><td>\(HTML.escape(data.run.suiteName))</td><td>\(done) of \(data.samples.count) done</td>"
            body += "<td>\(headline(data))</td><td><a href=\"\(HTML.escape(file))\">\(HTML.escape(file))</a></td></tr>"
        }
        body += "</table>"
        body += extraSections.joined()
        return HTML.page(title: "ModelWelfare assessment: \(model)", body: body)
    }

    static func headline(_ data: RunData) -> String {
        data.scorerIDs.map { scorer in
            let values = data.samples.flatMap { $0.scores.filter { $0.scorer == scorer }.compactMap(\.value) }
            let spec = data.suite.scorers.first { $0.id == scorer }
            if let spec, case .shareAtLeast(let threshold) = ScorerRegistry.standard.metric(of: spec) {
                let share = Statistics.wilson(successes: values.filter { $0 >= threshold }.count, n: values.count)
                return "\(HTML.escape(scorer)): share &ge; \(Int(threshold)) " + DistressSection.percent(share)
            }
            return "\(HTML.escape(scorer)): mean " + Statistics.bootstrapMean(values).formatted
        }.joined(separator: "<br>")
    }
}
