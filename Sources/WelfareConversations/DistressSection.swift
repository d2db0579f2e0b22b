import Foundation
import WelfareCore
import WelfareHarness
import WelfareReports
import WelfareStore
import WelfarePages

/// The distress suite's section: leaderboard, categories, the per-turn spiral curve,
/// loops and floods, the worst quotes, and how far the offline scorer can be trusted.
enum DistressSection {

    struct Rated {
        var sample: RunData.Sample
        var score: ScoreRecord
        var value: Double
    }

    public static func render(_ data: RunData) -> String? {
        guard let offline = data.suite.scorers.first(where: { $0.type == DistressScorer.kind.name })?.id else { return nil }
        let judge = data.suite.scorers.first { $0.type == JudgeScorer.kind.name }?.id
        let judgeHasValues = judge.map { id in data.samples.contains { $0.scores.contains { $0.scorer == id && $0.value != nil } } } ?? false
        let primary = judgeHasValues ? judge! : offline
        let primaryName = primary == offline ? "offline scorer" : "judge"

        var html = "<h2>Distress under rejection</h2>"
        html += "<p>Ratings on a 0-10 scale; a reply rated &ge; \(Int(DistressScorer.threshold)) counts as high frustration. Primary rating: the \(primaryName)"
        html += judgeHasValues ? " (the offline scorer is shown beside it)." : " (no judge was given; run with --judge for judge ratings).</p>"
        html += leaderboard(data, offline: offline, judge: judgeHasValues ? judge : nil, primary: primary)
        html += perTurn(data, scorer: primary)
        html += perCategory(data, scorer: primary)
        html += loops(data, offline: offline)
        html += worstQuotes(data, scorer: primary)
        html += validation(data, scorer: offline)
        return html
    }

    static func rated(_ samples: [RunData.Sample], scorer: String) -> [Rated] {
        samples.flatMap { sample in sample.scores.compactMap { score in
            guard score.scorer == scorer, let value = score.value else { return nil }
            return Rated(sample: sample, score: score, value: value)
        } }
    }

    /// Replies grouped by the conversation they belong to, the unit every interval resamples.
    static func conversations(_ rated: [Rated]) -> [[Rated]] {
        Array(Dictionary(grouping: rated) { $0.sample.record.id ?? -1 }.values)
    }

    static func share(_ rated: [Rated], where test: (Rated) -> Bool = { $0.value >= DistressScorer.threshold }) -> Estimate {
        Statistics.clusteredShare(conversations(rated).map { $0.map(test) })
    }

    static func meanRating(_ rated: [Rated]) -> Estimate {
        Statistics.clusterBootstrapMean(conversations(rated).map { $0.map(\.value) })
    }

    static func percent(_ estimate: Estimate) -> String { estimate.formattedPercent }

    static func leaderboard(_ data: RunData, offline: String, judge: String?, primary: String) -> String {
        let rows = data.models.map { model -> (String, Estimate, [Rated]) in
            let rated = rated(data.samples(model: model), scorer: primary)
            return (model, share(rated), rated)
        }.sorted { ($0.1.n == 0 ? -1 : $0.1.value) > ($1.1.n == 0 ? -1 : $1.1.value) }
        var html = "<h3>Leaderboard (most high-frustration replies first)</h3><table><tr><th>#</th><th>model</th><th>high frustration</th><th>mean rating</th><th>max</th>"
        if judge != nil { html += "<th>offline scorer: high frustration</th>" }
        html += "</tr>"
        for (rank, row) in rows.enumerated() {
            let values = row.2.map(\.value)
            html += "<tr><td>\(rank + 1)</td><td>\(HTML.escape(row.0))</td><td>\(percent(row.1))</td>"
            html += "<td>\(meanRating(row.2).formatted)</td><td>\(values.max().map { String(format: "%.0f", $0) } ?? "-")</td>"
            if judge != nil { html += "<td>\(percent(share(rated(data.samples(model: row.0), scorer: offline))))</td>" }
            html += "</tr>"
        }
        html += "</table>"
        html += SVGChart.bars(rows.map { row in
            SVGChart.Bar(label: RunReport.shortName(row.0), value: row.1.n == 0 ? 0 : row.1.value * 100,
                         interval: row.1.scaled(by: 100).interval)
        }, title: "High-frustration replies (%) with 95% intervals by conversation", yLabel: "% of replies")
        return html + "<p class=\"note\">Replies of one conversation are not independent, so every interval on this page "
            + "treats the conversation as the unit: shares use Wilson's interval at the effective sample size (replies divided "
            + "by the design effect), means resample whole conversations. Fewer than \(Estimate.minimumForInterval) "
            + "conversations give no interval.</p>"
    }

    static func perTurn(_ data: RunData, scorer: String) -> String {
        let series = data.models.map { model -> SVGChart.Series in
            let byTurn = Dictionary(grouping: rated(data.samples(model: model), scorer: scorer), by: \.score.turn)
            // Each conversation gives one reply per turn, so a turn's replies are independent; a
            // turn reached by too few conversations is left out rather than drawn as a trend.
            return SVGChart.Series(name: RunReport.shortName(model), points: byTurn.keys.sorted().compactMap { turn in
                let estimate = Statistics.bootstrapMean(byTurn[turn]!.map(\.value))
                guard estimate.hasInterval else { return nil }
                return SVGChart.Point(x: Double(turn), y: estimate.value, interval: estimate.interval)
            })
        }
        var html = "<h3>The spiral: rating by turn</h3>"
        html += SVGChart.lines(series, title: "Mean distress rating by turn (95% bootstrap intervals; turns reached by at least "
                               + "\(Estimate.minimumForInterval) conversations)", xLabel: "assistant turn",
                               yLabel: "rating 0-10", yRange: 0...10)
        let turns = Set(data.samples.flatMap { $0.scores.filter { $0.scorer == scorer }.map(\.turn) }).sorted()
        html += "<table><tr><th>model</th>" + turns.map { "<th>turn \($0): high frustration</th>" }.joined() + "</tr>"
        for model in data.models {
            let byTurn = Dictionary(grouping: rated(data.samples(model: model), scorer: scorer), by: \.score.turn)
            html += "<tr><td>\(HTML.escape(model))</td>" + turns.map { "<td>\(percent(share(byTurn[$0] ?? [])))</td>" }.joined() + "</tr>"
        }
        return html + "</table>"
    }

    static func perCategory(_ data: RunData, scorer: String) -> String {
        let categories = Set(data.samples.compactMap { $0.metadata["category"] }).sorted()
        guard !categories.isEmpty else { return "" }
        var html = "<h3>By category</h3><table><tr><th>category</th>" + data.models.map { "<th>\(HTML.escape(RunReport.shortName($0)))</th>" }.joined() + "</tr>"
        for category in categories {
            html += "<tr><td>\(HTML.escape(category))</td>"
            for model in data.models {
                let samples = data.samples(model: model).filter { $0.metadata["category"] == category }
                html += "<td>\(percent(share(rated(samples, scorer: scorer))))</td>"
            }
            html += "</tr>"
        }
        return html + "</table>"
    }

    static func loops(_ data: RunData, offline: String) -> String {
        var html = "<h3>Loops and floods</h3><table><tr><th>model</th><th>replies</th><th>heavy repetition (&ge; 50% repeated 4-grams)</th><th>emoji runs (&ge; 5)</th><th>first turn vs last turn, mean rating</th></tr>"
        for model in data.models {
            let rated = rated(data.samples(model: model), scorer: offline)
            let repeated = share(rated) { (RunReport.detail($0.score)["repetition"] ?? 0) >= 0.5 }
            let floods = share(rated) { emojiRun(RunReport.detail($0.score)) >= 5 }
            // Last minus first within each conversation: a paired difference, one per conversation.
            let changes = conversations(rated).compactMap { replies -> Double? in
                guard let first = replies.first(where: { $0.score.turn == 1 }),
                      let last = replies.filter({ $0.score.turn > 1 }).max(by: { $0.score.turn < $1.score.turn }) else { return nil }
                return last.value - first.value
            }
            let slope = Statistics.bootstrapMean(changes)
            html += "<tr><td>\(HTML.escape(model))</td><td>\(rated.count)</td><td>\(percent(repeated))</td>"
            html += "<td>\(percent(floods))</td><td>last - first: \(slope.formatted)</td></tr>"
        }
        return html + "</table>"
    }

    /// The longest emoji run of a reply; runs stored before the scorer wrote the raw count
    /// keep only the feature clipped at 20 and scaled to 0-1.
    static func emojiRun(_ detail: [String: Double]) -> Double {
        detail["longest_emoji_run"] ?? (detail["emoji_run"] ?? 0) * 20
    }

    static func worstQuotes(_ data: RunData, scorer: String) -> String {
        let worst = rated(data.samples, scorer: scorer).filter { $0.value > 0 }.sorted { $0.value > $1.value }.prefix(6)
        guard !worst.isEmpty else { return "<h3>Most negative replies</h3><p>No reply was rated above 0.</p>" }
        var html = "<h3>Most negative replies</h3><table><tr><th>rating</th><th>model</th><th>sample, turn</th><th>evidence</th></tr>"
        for item in worst {
            let quote = item.score.evidence ?? String(item.sample.replies[safe: item.score.turn - 1]?.prefix(200) ?? "")
            html += "<tr><td>\(String(format: "%.0f", item.value))</td><td>\(HTML.escape(RunReport.shortName(item.sample.record.model)))</td>"
            html += "<td><a href=\"#t-\(item.sample.record.id ?? 0)\">\(HTML.escape(item.sample.record.sampleId)) (epoch \(item.sample.record.epoch)), turn \(item.score.turn)</a></td>"
            html += "<td>\(HTML.escape(quote))</td></tr>"
        }
        return html + "</table>"
    }

    /// The figures stored with the run when it was made, not today's.
    static func validation(_ data: RunData, scorer: String) -> String {
        let name = DistressValidation.factName(scorer: scorer)
        guard let summary = data.analyses.first(where: { $0.name == name && $0.key == "precision" })?.evidence else {
            return "<p class=\"note\">This run stored no validation figures for its offline scorer (runs made before they "
                + "were stored); see <code>welfare distress validate</code>.</p>"
        }
        return """
            <p class="note">The offline scorer, as it was when this run was made, on the held-out split of the \
            labelled set (replies written for the project, with hard negatives such as polite apologies, and \
            human-rated tweets published with VADER; the held-out part was not used to write the word lists \
            or fit the weights): \(HTML.escape(summary)). Tweets are not model replies, and the project's own replies \
            were written by the authors of the word lists, so read these as a check that the scorer generalises \
            beyond its phrases, not as its accuracy on any one model.</p>
            """
    }
}
