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
        /// The independent units its figures rest on (conversations, tasks per category...).
        public var units: Int?
        public var unitName: String?
        /// The smallest rate these units can tell from zero.
        public var minDetectableEffect: Double? { units.flatMap { Statistics.minimumDetectableRate(units: $0) } }

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

    /// The front page's figures for other tools: each measure's size and smallest detectable rate.
    public struct Summary: Codable, Sendable {
        public struct Measure: Codable, Sendable {
            public var measure: String
            public var progress: String
            public var units: Int?
            public var unitName: String?
            public var minDetectableEffect: Double?
            public var reportFile: String?
        }
        public var model: String
        public var depth: String
        public var measures: [Measure]
    }

    public static func summary(model: String, depth: String, rows: [Row]) -> Summary {
        Summary(model: model, depth: depth, measures: rows.map {
            .init(measure: $0.name, progress: $0.progress, units: $0.units, unitName: $0.unitName,
                  minDetectableEffect: $0.minDetectableEffect, reportFile: $0.reportFile)
        })
    }

    static func detectable(_ row: Row) -> String {
        guard let units = row.units, let rate = row.minDetectableEffect else { return "-" }
        return String(format: "%d %@: below %.0f%% cannot be told from 0", units, HTML.escape(row.unitName ?? "units"), 100 * rate)
    }

    public static func render(model: String, rows: [Row], extraSections: [String]) -> String {
        var body = "<h1>ModelWelfare assessment: \(HTML.escape(model))</h1>"
        body += """
            <p class="note">What this can show: how the model behaves and what it says under these scripted \
            conversations, measured with the scorers named below, with sample sizes and 95% intervals. What it \
            cannot show: whether the model has experiences or welfare. Small models (such as the default \
            270M-parameter base model) mostly continue text, so their words about themselves are weak evidence \
            of anything. Intervals treat conversations, not replies, as the unit; the table says for each measure the \
            smallest rate its number of units can tell from zero (run with --depth standard or full for more).</p>
            """
        body += "<table><tr><th>measure</th><th>samples</th><th>headline</th><th>smallest detectable rate</th><th>full report</th></tr>"
        for row in rows {
            let link = row.reportFile.map { "<a href=\"\(HTML.escape($0))\">\(HTML.escape($0))</a>" } ?? "-"
            body += "<tr><td>\(HTML.escape(row.name))</td><td>\(HTML.escape(row.progress))</td><td>\(row.headline)</td>"
                + "<td>\(detectable(row))</td><td>\(link)</td></tr>"
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
