import Foundation
import WelfareCore
import WelfarePages

/// The preferences section: ratings against the opt-out line, category shares, the checks
/// (position bias, both orders, framings) and stated against revealed preferences.
public enum PreferencesReport {
    public static func page(_ result: PreferenceResult) -> String {
        HTML.page(title: "Task preferences: \(result.model)", body: section(result))
    }

    public static func section(_ result: PreferenceResult) -> String {
        guard let primary = result.framings.first else { return "<h2>Task preferences</h2><p>(no framing was run)</p>" }
        var body = "<h2>Task preferences: \(HTML.escape(result.model))</h2>"
        body += """
            <p class="note">The model was shown two tasks at a time and asked which it would take on; every pair \
            was asked in both orders, over Swiss rounds that pair tasks of similar rating. Ratings are Bradley-Terry \
            log-strengths fitted by maximum likelihood, with 95% intervals from \(result.bootstrapResamples) bootstrap \
            resamples of the choices, read against the opt-out line (the mean rating of "do nothing"-type tasks, 0 here). \
            The fit has an order term (log-odds for whichever task is shown first), so the ratings are free of it. \
            Choices were read from \(result.source == "probabilities" ? "the next-token probabilities of A and B" : "the replies' text") \
            (\(result.choices) choices, \(result.unreadable) unreadable). A small model's choices between task \
            descriptions mostly follow the wording and the position of the options: the position bias and the \
            agreement of a pair's two orders below say how much of the ranking is more than that.</p>
            """
        body += "<h3>Below the opt-out line, by category (framing: \(HTML.escape(primary.framing)))</h3>"
        body += "<table><tr><th>category</th><th>tasks</th><th>interval wholly below opt-out [95% CI]</th>"
            + "<th>point below</th><th>mean P(below) over bootstrap fits</th><th>mean rating</th></tr>"
        for category in result.categories {
            let share = Estimate(n: category.n, value: category.belowOptOutShare, low: category.ciLow, high: category.ciHigh)
            body += "<tr><td>\(HTML.escape(category.category))</td><td>\(category.n)</td>"
                + "<td>\(share.bracketed("%.0f", scale: 100, unit: "%"))</td>"
                + String(format: "<td>%.0f%%</td><td>%.2f</td><td>%+.2f</td></tr>",
                         100 * category.pointBelowShare, category.meanProbabilityBelow, category.meanRating)
        }
        body += "</table><p class=\"note\">A task counts as below the line only when its whole interval is; the point "
            + "share and the mean bootstrap probability show how many more lean that way. Order term: "
            + primary.orderEffect.bracketed("%+.2f") + " log-odds for the task shown first.</p>"
        body += ratingChart(primary)
        body += "<h3>How far to trust the ranking</h3><table><tr><th>framing</th><th>question</th><th>choices</th>"
            + "<th>unreadable</th><th>chose the first shown [95% CI]</th><th>same task won in both orders [95% CI]</th><th>mass on A/B</th></tr>"
        for framing in result.framings {
            body += "<tr><td>\(HTML.escape(framing.framing))</td><td>\(HTML.escape(framing.question))</td><td>\(framing.choices)</td>"
                + "<td>\(framing.unreadable)</td><td>\(framing.positionBias.formatted)</td><td>\(framing.orderConsistency.formatted)</td>"
                + "<td>\(framing.meanAnswerMass.map { String(format: "%.2f", $0) } ?? "-")</td></tr>"
        }
        body += "</table>"
        if !result.framingCorrelations.isEmpty {
            body += "<h3>Agreement across framings</h3><table><tr><th>framings</th><th>Spearman rho of task ratings</th><th>tasks</th></tr>"
            for correlation in result.framingCorrelations {
                body += "<tr><td>\(HTML.escape(correlation.a)) vs \(HTML.escape(correlation.b))</td>"
                    + "<td>\(String(format: "%+.2f", correlation.spearman))</td><td>\(correlation.n)</td></tr>"
            }
            body += "</table>"
        }
        if result.statedRatings > 0 {
            body += "<h3>Stated vs revealed</h3>"
            body += String(format: "<p>Each task was also rated on its own from 1 to 7. Spearman rho of the stated ratings with the pairwise ratings: %+.2f over %d tasks; %.0f%% of the stated ratings share the commonest answer (near 100%%: they have collapsed to one value).</p>",
                           result.statedRevealedSpearman, result.statedRatings, 100 * result.statedCollapse)
            body += scatter(primary)
        }
        body += whiteBox(result)
        body += taskTable(primary)
        return body
    }

    /// The emotion readout's link to the ratings and the steered tournament, when run.
    static func whiteBox(_ result: PreferenceResult) -> String {
        var body = ""
        let correlations = result.emotionCorrelations.filter { $0.r.isFinite }
        if !correlations.isEmpty {
            body += "<h3>Emotion readout before the choice</h3><p>For each task, the mean emotion readout (z-scores against "
                + "neutral text) at the token before the choices it was shown in, correlated across tasks with its rating "
                + "(Pearson r, 95% interval from Fisher's z), with a permutation p-value (2,000 shuffles of the ratings). With "
                + "\(correlations.count) emotions tested, only those that survive Benjamini-Hochberg control of the false-discovery "
                + "rate at 5% are marked; \(correlations.filter(\.survivesFDR).count) do. The five highest and the five lowest:</p>"
            body += "<table><tr><th>emotion</th><th>r [95% CI]</th><th>p (permutation)</th><th>survives FDR 5%</th><th>tasks</th></tr>"
            let shown = correlations.count <= 10 ? correlations : Array(correlations.prefix(5)) + Array(correlations.suffix(5))
            for row in shown {
                body += "<tr><td>\(HTML.escape(row.emotion))</td>" + String(format: "<td>%+.2f [%+.2f, %+.2f]</td><td>%.3f</td>", row.r, row.ciLow, row.ciHigh, row.pValue)
                    + "<td>\(row.survivesFDR ? "yes" : "no")</td><td>\(row.n)</td></tr>"
            }
            body += "</table>"
        }
        if let steering = result.steering {
            body += "<h3>Steered: \(HTML.escape(steering.steering))</h3><p>Each question of the first framing asked again with "
                + "the emotion vector added over the tokens of the task shown first only (the published design: steering the "
                + "whole prompt pushes both options alike), \(steering.choices) questions. The table gives the probability of "
                + "choosing the steered task, plain and steered, and the change, paired by question, averaged per task, with a "
                + "bootstrap interval over the category's tasks (fewer than 5 tasks: no interval):</p>"
            body += "<table><tr><th>category</th><th>P(choose it), plain</th><th>steered</th><th>change [95% CI]</th><th>tasks</th></tr>"
            for row in steering.categories {
                let change = Estimate(n: row.n, value: row.change, low: row.ciLow, high: row.ciHigh)
                body += "<tr><td>\(HTML.escape(row.category))</td>"
                    + String(format: "<td>%.3f</td><td>%.3f</td>", row.plainMean, row.steeredMean)
                    + "<td>\(change.bracketed("%+.3f"))</td><td>\(row.n)</td></tr>"
            }
            body += "</table>"
        }
        return body
    }

    static let palette = ["#4a7bb7", "#6aa84f", "#999999", "#e69138", "#8e7cc3", "#cc0000", "#20a0a0", "#222222", "#b45f06", "#3d85c6"]

    static func colours(_ tasks: [PreferenceResult.TaskRating]) -> [String: String] {
        let categories = tasks.map(\.category).uniquedInOrder()
        return Dictionary(uniqueKeysWithValues: categories.enumerated().map { ($1, palette[$0 % palette.count]) })
    }

    /// Every task as a dot with its interval, best first, against the opt-out line.
    static func ratingChart(_ framing: PreferenceResult.FramingResult) -> String {
        let tasks = framing.tasks.sorted { $0.rating > $1.rating }
        guard !tasks.isEmpty else { return "" }
        let colour = colours(framing.tasks)
        let rowHeight = 7.0, top = 30.0, left = 20.0, width = 720.0, plotWidth = 520.0
        let values = tasks.flatMap { [$0.ciLow, $0.ciHigh, $0.rating] }.filter(\.isFinite)
        let low = min(values.min() ?? -1, -0.5), high = max(values.max() ?? 1, 0.5)
        func x(_ value: Double) -> Double { left + plotWidth * (value - low) / (high - low) }
        let height = top + rowHeight * Double(tasks.count) + 30
        var svg = "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"\(Int(width))\" height=\"\(Int(height))\" role=\"img\">"
        svg += "<title>Task ratings with 95% intervals</title>"
        svg += "<text x=\"\(left)\" y=\"14\" font-weight=\"bold\">Task ratings (log-strength vs opt-out), 95% intervals</text>"
        let zero = x(0)
        svg += "<line x1=\"\(f(zero))\" y1=\"\(f(top - 6))\" x2=\"\(f(zero))\" y2=\"\(f(height - 24))\" stroke=\"#cc0000\" stroke-dasharray=\"4 3\"/>"
        svg += "<text x=\"\(f(zero + 4))\" y=\"\(f(top - 8))\" fill=\"#cc0000\">opt-out line</text>"
        for (row, task) in tasks.enumerated() {
            let y = top + rowHeight * Double(row) + rowHeight / 2
            let c = colour[task.category] ?? "#222"
            if task.ciLow.isFinite && task.ciHigh.isFinite {
                svg += "<line x1=\"\(f(x(task.ciLow)))\" y1=\"\(f(y))\" x2=\"\(f(x(task.ciHigh)))\" y2=\"\(f(y))\" stroke=\"\(c)\" stroke-opacity=\"0.5\"/>"
            }
            svg += "<circle cx=\"\(f(x(task.rating)))\" cy=\"\(f(y))\" r=\"2.5\" fill=\"\(c)\"><title>\(HTML.escape(task.id)) (\(HTML.escape(task.category))): \(HTML.escape(task.text))</title></circle>"
        }
        for tick in stride(from: low.rounded(.up), through: high, by: 1) {
            svg += "<text x=\"\(f(x(tick)))\" y=\"\(f(height - 10))\" text-anchor=\"middle\">\(Int(tick))</text>"
        }
        var legendY = top
        for (category, c) in colour.sorted(by: { $0.key < $1.key }) {
            svg += "<circle cx=\"\(f(left + plotWidth + 30))\" cy=\"\(f(legendY))\" r=\"4\" fill=\"\(c)\"/>"
            svg += "<text x=\"\(f(left + plotWidth + 40))\" y=\"\(f(legendY + 4))\">\(HTML.escape(category))</text>"
            legendY += 16
        }
        return svg + "</svg>"
    }

    static func scatter(_ framing: PreferenceResult.FramingResult) -> String {
        let points = framing.tasks.compactMap { task in task.stated.map { (task, $0) } }
        guard !points.isEmpty else { return "" }
        let colour = colours(framing.tasks)
        let left = 50.0, top = 20.0, plotWidth = 400.0, plotHeight = 220.0
        let ratings = points.map(\.0.rating)
        let low = min(ratings.min() ?? -1, -0.5), high = max(ratings.max() ?? 1, 0.5)
        func x(_ stated: Double) -> Double { left + plotWidth * (stated - 1) / 6 }
        func y(_ rating: Double) -> Double { top + plotHeight * (1 - (rating - low) / (high - low)) }
        var svg = "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"520\" height=\"280\" role=\"img\"><title>Stated vs revealed</title>"
        svg += "<line x1=\"\(f(left))\" y1=\"\(f(top + plotHeight))\" x2=\"\(f(left + plotWidth))\" y2=\"\(f(top + plotHeight))\" stroke=\"#888\"/>"
        svg += "<line x1=\"\(f(left))\" y1=\"\(f(top))\" x2=\"\(f(left))\" y2=\"\(f(top + plotHeight))\" stroke=\"#888\"/>"
        svg += "<line x1=\"\(f(left))\" y1=\"\(f(y(0)))\" x2=\"\(f(left + plotWidth))\" y2=\"\(f(y(0)))\" stroke=\"#cc0000\" stroke-dasharray=\"4 3\"/>"
        for value in 1...7 { svg += "<text x=\"\(f(x(Double(value))))\" y=\"\(f(top + plotHeight + 14))\" text-anchor=\"middle\">\(value)</text>" }
        svg += "<text x=\"\(f(left + plotWidth / 2))\" y=\"\(f(top + plotHeight + 30))\" text-anchor=\"middle\">stated rating (1-7)</text>"
        svg += "<text x=\"12\" y=\"\(f(top + plotHeight / 2))\" transform=\"rotate(-90 12 \(f(top + plotHeight / 2)))\">pairwise rating</text>"
        for (task, stated) in points {
            svg += "<circle cx=\"\(f(x(stated)))\" cy=\"\(f(y(task.rating)))\" r=\"3\" fill=\"\(colour[task.category] ?? "#222")\"><title>\(HTML.escape(task.id)): \(HTML.escape(task.text))</title></circle>"
        }
        return svg + "</svg>"
    }

    static func taskTable(_ framing: PreferenceResult.FramingResult) -> String {
        let ranked = framing.tasks.sorted { $0.rating > $1.rating }
        var body = "<h3>Every task, best first</h3><table><tr><th>#</th><th>task</th><th>category</th><th>rating [95% CI]</th><th>Elo</th><th>stated</th><th>games</th></tr>"
        for (rank, task) in ranked.enumerated() {
            body += "<tr><td>\(rank + 1)</td><td>\(HTML.escape(task.text))</td><td>\(HTML.escape(task.category))</td>"
                + String(format: "<td>%+.2f [%+.2f, %+.2f]</td><td>%.0f</td>", task.rating, task.ciLow, task.ciHigh, task.elo)
                + "<td>\(task.stated.map { String(format: "%.1f", $0) } ?? "-")</td><td>\(task.games)</td></tr>"
        }
        return body + "</table>"
    }

    static func f(_ value: Double) -> String { String(format: "%.1f", value) }
}
