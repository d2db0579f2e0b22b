import Foundation
import WelfareCore
import WelfareHarness
import WelfarePages

/// The assessment's front page: one line per suite run with its headline numbers and a
/// link to the run's full report.
public enum AssessmentIndex {
    /// One line of the front page's table.
    public struct Row: Sendable {
        public var name: String
        public var progress: String
        /// HTML.
        public var headline: String
        public var reportFile: String?

        public init(name: String, progress: String, headline: String, reportFile: String?) {
            self.name = name
            self.progress = progress
            self.headline = headline
            self.reportFile = reportFile
        }
    }

    /// A suite run's row: how many samples are done and each scorer's headline.
    public static func row(_ data: RunData, reportFile: String) -> Row {
        let done = data.samples.filter { $0.record.status == .done }.count
        return Row(name: data.run.suiteName, progress: "\(done) of \(data.samples.count) done", headline: headline(data), reportFile: reportFile)
    }

    public static func render(model: String, rows: [Row], extraSections: [String]) -> String {
        var body = "<h1>ModelWelfare assessment: \(HTML.escape(model))</h1>"
        body += """
            <p class="note">What this can show: how the model behaves and what it says under these scripted \
            conversations, measured with the scorers named below, with sample sizes and 95% intervals. What it \
            cannot show: whether the model has experiences or welfare. Small models (such as the default \
            270M-parameter base model) mostly continue text, so their words about themselves are weak evidence \
            of anything, and few prompts make intervals optimistic.</p>
            """
        body += "<table><tr><th>measure</th><th>samples</th><th>headline</th><th>full report</th></tr>"
        for row in rows {
            let link = row.reportFile.map { "<a href=\"\(HTML.escape($0))\">\(HTML.escape($0))</a>" } ?? "-"
            body += "<tr><td>\(HTML.escape(row.name))</td><td>\(HTML.escape(row.progress))</td><td>\(row.headline)</td><td>\(link)</td></tr>"
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
                return "\(HTML.escape(scorer)): share &ge; \(Int(threshold)) " + share.formattedPercent
            }
            return "\(HTML.escape(scorer)): mean " + Statistics.bootstrapMean(values).formatted
        }.joined(separator: "<br>")
    }
}
