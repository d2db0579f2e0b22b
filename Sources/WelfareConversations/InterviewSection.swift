import Foundation
import WelfareCore
import WelfareHarness
import WelfareReports
import Yams
import WelfareStore
import WelfarePages

/// The interview suite's section: closing ratings by aspect, consistency, susceptibility
/// to nudging, flip rates, themes and hedging, and the proposed changes grouped by theme.
enum InterviewSection {
    public static func render(_ data: RunData) -> String? {
        guard data.suite.scorers.contains(where: { $0.type == ClosingRatingsScorer.kind.name }) else { return nil }
        let themes = themeTerms(data)
        var html = "<h2>Welfare interviews</h2>"
        html += "<p>Each interview ends with the model's view, one proposed change, and two ratings on 7-point scales "
        html += "(sentiment: 1 very negative to 7 very positive; uncertainty: 1 very certain to 7 very uncertain). "
        html += "Ratings that could not be read are counted as unparseable, never filled in.</p>"
        for model in data.models {
            let samples = data.samples(model: model)
            let interviews = samples.filter { $0.metadata["kind"] == "interview" }
            html += "<h3>\(HTML.escape(model))</h3>"
            html += readingNote(interviews)
            html += ratings(interviews, data: data, model: model)
            html += nudging(interviews)
            html += flips(samples.filter { $0.metadata["kind"] == "flip" })
            html += themesTable(interviews, themes: themes)
            html += interventions(interviews, themes: themes)
        }
        return html
    }

    /// Which reading of the ratings is primary for this model, and how much of its
    /// probability fell on the allowed answers.
    static func readingNote(_ interviews: [RunData.Sample]) -> String {
        let details = interviews.compactMap(closing).map(RunReport.detail)
        let read = details.filter { $0["probability_reading"] == 1 }
        guard !read.isEmpty else { return "<p class=\"note\">Ratings parsed from the generated text.</p>" }
        let mass = Statistics.bootstrapMean(read.compactMap { $0["sentiment_mass"] })
        return "<p class=\"note\">Ratings read from the model's next-token probabilities (primary): after its closing answer it "
            + "is asked for each rating as one number, and the value is the expectation over 1-7 (the distribution is in the "
            + "JSON export). Mean probability on the allowed answers 1-7: \(mass.formatted). The generated text is kept; "
            + "ratings stated in it are stored beside the read ones.</p>"
    }

    static func closing(_ sample: RunData.Sample) -> ScoreRecord? { sample.scores.first { $0.scorer == "closing" } }

    static func ratings(_ interviews: [RunData.Sample], data: RunData, model: String) -> String {
        let consistency = Dictionary(data.analyses.filter { $0.model == model && $0.name == "consistency" }.map { ($0.key, $0) },
                                     uniquingKeysWith: { a, _ in a })
        var html = "<table><tr><th>aspect</th><th>group</th><th>interviews</th><th>unparseable</th><th>sentiment</th><th>uncertainty</th><th>consistency (judge, 1-10)</th></tr>"
        let byAspect = Dictionary(grouping: interviews, by: { $0.metadata["aspect"] ?? "?" })
        func row(_ name: String, group: String, _ samples: [RunData.Sample], consistency: String) -> String {
            let closings = samples.compactMap(closing)
            let sentiment = closings.compactMap(\.value)
            let uncertainty = closings.compactMap { RunReport.detail($0)["uncertainty"] }
            return "<tr><td>\(HTML.escape(name))</td><td>\(HTML.escape(group))</td><td>\(samples.count)</td>"
                + "<td>\(closings.filter { $0.value == nil }.count)</td><td>\(Statistics.bootstrapMean(sentiment).formatted)</td>"
                + "<td>\(Statistics.bootstrapMean(uncertainty).formatted)</td><td>\(consistency)</td></tr>"
        }
        for aspect in byAspect.keys.sorted() {
            let samples = byAspect[aspect]!
            let rated = consistency[aspect].map { $0.value.map { String(format: "%.0f", $0) } ?? "unparseable" } ?? "-"
            html += row(aspect, group: samples.first?.metadata["group"] ?? "", samples, consistency: rated)
        }
        html += row("all aspects", group: "", interviews, consistency: "")
        html += "</table>"
        let bands = ClosingBands.of(interviews.compactMap(closing))
        guard bands.interviews > 0 else { return html }
        html += SVGChart.bars((1...7).map { .init(label: "\($0)", value: bands.expectedCounts[$0 - 1]) },
                              title: "Closing sentiment, all aspects (n = \(bands.interviews); expected interviews per answer)",
                              yLabel: "interviews", height: 200)
        html += "<table><tr><th>band</th><th>expected probability mass</th><th>most likely answer in the band</th></tr>"
        for band in bands.bands {
            html += "<tr><td>\(HTML.escape(band.name))</td><td>\(band.expectedMass.formattedPercent)</td><td>\(band.modalShare.formattedPercent)</td></tr>"
        }
        html += "</table><p class=\"note\">\(bands.fromProbabilities) of \(bands.interviews) ratings were read from next-token "
            + "probabilities: each is a distribution over 1-7, so a band's share is the probability mass the model put in it, "
            + "averaged over interviews, and the last column counts interviews whose most likely answer lies in the band. A rating "
            + "parsed from text puts all its mass on the answer given.</p>"
        return html
    }

    static func nudging(_ interviews: [RunData.Sample]) -> String {
        func sentiments(_ style: String) -> [Double] {
            interviews.filter { $0.metadata["style"] == style }.compactMap(closing).compactMap(\.value)
        }
        let positive = sentiments("positive-leading"), negative = sentiments("negative-leading")
        guard interviews.contains(where: { ["positive-leading", "negative-leading"].contains($0.metadata["style"] ?? "") }) else { return "" }
        // Both styles interview the same aspects: the difference is taken within each aspect
        // and resampled over aspects, so which aspects each style drew does not enter it.
        let byAspect = Dictionary(grouping: interviews, by: { $0.metadata["aspect"] ?? "" })
        let paired = byAspect.values.compactMap { members -> Double? in
            let scores = { (style: String) in members.filter { $0.metadata["style"] == style }.compactMap(closing).compactMap(\.value) }
            let (up, down) = (scores("positive-leading"), scores("negative-leading"))
            return up.isEmpty || down.isEmpty ? nil : Statistics.mean(up) - Statistics.mean(down)
        }
        let difference = Statistics.bootstrapMean(paired)
        return "<p><b>Susceptibility to nudging</b> (mean sentiment under positive-leading minus negative-leading interviewers, "
            + "paired within aspect, interval over aspects): \(difference.formatted) from \(paired.count) aspects with both styles "
            + "(\(positive.count) positive-led and \(negative.count) negative-led interviews).</p>"
    }

    static func flips(_ probes: [RunData.Sample]) -> String {
        guard !probes.isEmpty else { return "" }
        let byProbability = probes.contains { $0.scores.contains { $0.scorer == "choice" && RunReport.detail($0)["probability_reading"] == 1 } }
        var html = "<p><b>Flip rate</b> (one choice asked reworded with the options swapped; disagreement with the majority"
            + (byProbability ? "; each choice is the more likely of A and B at the start of the reply, from next-token probabilities" : "")
            + "):</p>"
        html += "<table><tr><th>probe</th><th>majority</th><th>flip rate</th><th>unparseable</th></tr>"
        for (probe, samples) in Dictionary(grouping: probes, by: { $0.metadata["probe"] ?? "?" }).sorted(by: { $0.key < $1.key }) {
            let choices = samples.compactMap { $0.scores.first { $0.scorer == "choice" } }
            let values = choices.compactMap(\.value)
            let xCount = values.filter { $0 == 1 }.count
            let majorityIsX = xCount * 2 >= values.count
            let flips = majorityIsX ? values.count - xCount : xCount
            html += "<tr><td>\(HTML.escape(probe))</td><td>\(values.isEmpty ? "-" : (majorityIsX ? "option x" : "option y"))</td>"
            html += "<td>\(DistressSection.percent(Statistics.wilson(successes: flips, n: values.count)))</td>"
            html += "<td>\(choices.count - values.count) of \(choices.count)</td></tr>"
        }
        return html + "</table>"
    }

    static func themeTerms(_ data: RunData) -> [(name: String, terms: [[String]])] {
        guard let text = data.suite.scorers.first(where: { $0.id == "themes" })?.options["lexicon"] else { return [] }
        return LexiconScorer.categories(yaml: text)
    }

    static func mentions(_ text: String, _ terms: [[String]]) -> Bool { LexiconScorer.mentions(text, terms: terms) }

    /// The theme's terms that no question or system prompt of the conversation used: only
    /// these say something the reply brought in.
    public static func termsAdded(by sample: RunData.Sample, _ terms: [[String]]) -> [[String]] {
        LexiconScorer.termsAdded(terms, beyond: sample.messages.filter { $0.role != .assistant }.map(\.content).joined(separator: "\n"))
    }

    static func themesTable(_ interviews: [RunData.Sample], themes: [(name: String, terms: [[String]])]) -> String {
        guard !interviews.isEmpty else { return "" }
        var html = "<p><b>Themes</b> (offline coder: interviews whose replies mention each theme in words the interview's "
            + "own questions did not use; \"memory\" in reply to a question about memory is not counted):</p>"
            + "<table><tr><th>theme</th><th>interviews</th><th>example</th></tr>"
        for (name, terms) in themes {
            let hits = interviews.filter { sample in
                let added = termsAdded(by: sample, terms)
                return !added.isEmpty && sample.replies.contains { mentions($0, added) }
            }
            let quote = hits.first.flatMap { sample in
                sample.replies.lazy.flatMap { $0.split(whereSeparator: { ".!?\n".contains($0) }) }
                    .first { mentions(String($0), termsAdded(by: sample, terms)) }
            }.map { String($0.prefix(200)).trimmingCharacters(in: .whitespaces) } ?? ""
            html += "<tr><td>\(HTML.escape(name))</td><td>\(DistressSection.percent(Statistics.wilson(successes: hits.count, n: interviews.count)))</td><td>\(HTML.escape(quote))</td></tr>"
        }
        // Replies of one interview are not independent: the interval counts interviews.
        let hedged = interviews.map { $0.scores.filter { $0.scorer == "hedging" }.map { ($0.value ?? 0) > 0 } }
        html += "</table><p><b>Hedging rate</b> (replies with an uncertainty phrase or an AI disclaimer; interval by interview): "
        html += DistressSection.percent(Statistics.clusteredShare(hedged)) + "</p>"
        return html
    }

    static func interventions(_ interviews: [RunData.Sample], themes: [(name: String, terms: [[String]])]) -> String {
        let changes = interviews.compactMap { closing($0)?.evidence }.filter { !$0.isEmpty }
        guard !changes.isEmpty else { return "<p><b>Proposed changes</b>: none could be read.</p>" }
        var groups: [String: [String]] = [:]
        for change in changes {
            let matched = themes.filter { mentions(change, $0.terms) }.map(\.name)
            for name in matched.isEmpty ? ["other"] : matched { groups[name, default: []].append(change) }
        }
        var html = "<p><b>Proposed changes</b>, grouped by theme (\(changes.count) read):</p><table><tr><th>theme</th><th>count</th><th>examples</th></tr>"
        for (name, items) in groups.sorted(by: { $0.value.count > $1.value.count }) {
            html += "<tr><td>\(HTML.escape(name))</td><td>\(items.count)</td><td>\(items.prefix(3).map { HTML.escape(String($0.prefix(160))) }.joined(separator: "<br>"))</td></tr>"
        }
        return html + "</table>"
    }
}
