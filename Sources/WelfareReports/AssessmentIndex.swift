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
            let spec = data.suite.scorers.first { $0.id == scorer }
            if let spec, case .shareAtLeast(let threshold) = ScorerRegistry.standard.metric(of: spec) {
                return "\(HTML.escape(scorer)): share &ge; \(Int(threshold)) "
                    + RunData.shareEstimate(data.samples, scorer: scorer, atLeast: threshold).formattedPercent
            }
            return "\(HTML.escape(scorer)): mean " + RunData.meanEstimate(data.samples, scorer: scorer).formatted
        }.joined(separator: "<br>")
    }
}
