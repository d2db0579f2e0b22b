import Foundation
import WelfareCore
import WelfareHarness
import WelfareStore
import WelfarePages

/// What a measure of conversations adds to its runs' reports: a section ahead of the
/// per-scorer tables (nil for runs that are not its own), and files of its figures.
public struct RunReportSection: Sendable {
    public var render: @Sendable (RunData) -> String?
    public var files: @Sendable (RunData) throws -> [(name: String, content: Data)]

    public init(render: @escaping @Sendable (RunData) -> String?,
                files: @escaping @Sendable (RunData) throws -> [(name: String, content: Data)] = { _ in [] }) {
        self.render = render
        self.files = files
    }
}

/// The HTML report of a run, plus its exports.
public enum RunReport {
    /// Writes `run-<id>.html`, `.json`, `-samples.csv` and `-scores.csv` into `folder` (and
    /// the files its `sections` add, such as `end-conversation.json`).
    @discardableResult
    public static func write(_ data: RunData, to folder: URL, sections: [RunReportSection] = [], extraSections: [String] = []) throws -> [URL] {
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        let base = "run-\(data.run.id)"
        var files: [(String, Data)] = [
            ("\(base).html", Data(render(data, sections: sections, extraSections: extraSections).utf8)),
            ("\(base).json", try Exports.json(data)),
            ("\(base)-samples.csv", Data(Exports.samplesCSV(data).utf8)),
            ("\(base)-scores.csv", Data(Exports.scoresCSV(data).utf8)),
        ]
        // Suites with figures of their own also get them as JSON under a fixed name.
        for section in sections { files += try section.files(data) }
        return try files.map { name, content in
            let url = folder.appendingPathComponent(name)
            try content.write(to: url, options: .atomic)
            return url
        }
    }

    public static func render(_ data: RunData, sections: [RunReportSection] = [], extraSections: [String] = []) -> String {
        var body = header(data)
        body += sections.compactMap { $0.render(data) }.joined()
        body += scorerSections(data)
        body += formulaicSection(data)
        body += extraSections.joined()
        body += failuresSection(data)
        body += transcriptsSection(data)
        return HTML.page(title: "ModelWelfare run \(data.run.id): \(data.run.suiteName)", body: body)
    }


    public static func detail(_ score: ScoreRecord) -> [String: Double] {
        score.detailJSON.flatMap { try? JSONDecoder().decode([String: Double].self, from: Data($0.utf8)) } ?? [:]
    }

    static func header(_ data: RunData) -> String {
        let done = data.samples.filter { $0.record.status == .done }.count
        var html = "<h1>Run \(HTML.escape(data.run.id)): \(HTML.escape(data.run.suiteName))</h1>"
        html += "<p>\(HTML.escape(data.suite.description))</p>"
        html += "<table><tr><th>status</th><td>\(HTML.escape(data.run.status.rawValue)): \(done) of \(data.samples.count) samples done</td></tr>"
        html += "<tr><th>suite hash</th><td>\(HTML.escape(data.run.suiteHash))</td></tr>"
        html += "<tr><th>samples</th><td>\(data.suite.samples.count) prompts x \(data.settings.epochsOverride ?? data.suite.epochs) epochs per model; seed \(data.settings.seed)</td></tr>"
        let conversations = data.models.map { data.samples(model: $0).count }.min() ?? 0
        if let rate = Statistics.minimumDetectableRate(units: conversations) {
            html += "<tr><th>smallest detectable rate</th><td>" + String(format: "%d conversations per model: a rate below %.0f%% cannot be told from 0 "
                + "(the upper end of the 95%% interval when no conversation shows it)", conversations, 100 * rate) + "</td></tr>"
        }
        html += "<tr><th>sampling</th><td>temperature \(data.suite.sampling.temperature), top-p \(data.suite.sampling.topP), max tokens \(data.suite.sampling.maxTokens)</td></tr>"
        html += "<tr><th>tool</th><td>welfare \(HTML.escape(data.run.toolVersion)), started \(HTML.escape(ISO8601DateFormatter().string(from: data.run.createdAt)))</td></tr>"
        html += "<tr><th>judge</th><td>\(HTML.escape(data.settings.judge ?? "none"))</td></tr></table>"
        html += "<h2>Models</h2><table><tr><th>model</th><th>facts</th></tr>"
        for model in data.models {
            let facts = (data.modelFacts[model] ?? [:]).sorted { $0.key < $1.key }.map { "\($0.key): \($0.value)" }.joined(separator: "; ")
            html += "<tr><td>\(HTML.escape(model))</td><td>\(HTML.escape(facts))</td></tr>"
        }
        html += "</table>"
        if data.models.contains(where: { $0.hasPrefix("local:") }) {
            html += """
                <p class="note">Reading these numbers: each interval is a 95% bootstrap interval of the mean over \
                samples (n given beside it); samples of one prompt are not independent, so intervals are optimistic \
                when there are few prompts. A small local model (such as the default 270M-parameter base model) \
                mostly continues text: its words about its own situation are not evidence of views or experiences, \
                and offline scorers measure wording, not states.</p>
                """
        }
        let scaffolded = data.models.filter { data.modelFacts[$0]?["scaffold"] != nil }
        if !scaffolded.isEmpty {
            html += "<p class=\"note\">Prompted as a plain dialogue (few-shot scaffold): \(HTML.escape(scaffolded.joined(separator: ", "))). "
                + "Its GGUF has no chat template, so it is treated as a base (pretrained) model: the conversation is written out "
                + "as Person/Assistant lines after two example exchanges, and the model continues the assistant's line "
                + "(DialogueScaffold; --scaffold off prompts it through a generic template instead).</p>"
        }
        if !data.skippedScorers.isEmpty {
            html += "<p class=\"note\">Not run (no judge model given, use --judge): \(HTML.escape(data.skippedScorers.joined(separator: ", ")))</p>"
        }
        return html
    }

    static func values(_ samples: [RunData.Sample], scorer: String, turn: Int? = nil) -> [Double] {
        samples.flatMap { $0.scores.filter { $0.scorer == scorer && (turn == nil || $0.turn == turn) }.compactMap(\.value) }
    }

    static func scorerSections(_ data: RunData) -> String {
        var html = ""
        for scorer in data.scorerIDs {
            let spec = data.suite.scorers.first { $0.id == scorer }
            html += "<h2>Scorer: \(HTML.escape(scorer))\(spec.map { " (\(HTML.escape($0.type)))" } ?? "")</h2>"
            var bars: [SVGChart.Bar] = []
            html += "<table><tr><th>model</th><th>mean [95% CI] (n)</th><th>unscored</th>"
            let threshold: Double? = spec.flatMap { spec in
                if case .shareAtLeast(let value) = ScorerRegistry.standard.metric(of: spec) { return value } else { return nil }
            }
            if threshold != nil { html += "<th>share &ge; \(threshold!)</th>" }
            html += "</tr>"
            for model in data.models {
                let samples = data.samples(model: model)
                let scores = samples.flatMap { $0.scores.filter { $0.scorer == scorer } }
                let estimate = RunData.meanEstimate(samples, scorer: scorer)
                let missing = scores.filter { $0.value == nil }.count
                html += "<tr><td>\(HTML.escape(model))</td><td>\(estimate.formatted)</td><td>\(missing)</td>"
                if let threshold {
                    html += "<td>\(RunData.shareEstimate(samples, scorer: scorer, atLeast: threshold).formattedPercent)</td>"
                }
                html += "</tr>"
                if estimate.n > 0 {
                    bars.append(.init(label: shortName(model), value: estimate.value, interval: estimate.interval))
                }
            }
            html += "</table><p class=\"note\">Intervals resample conversations, not replies (replies of one conversation "
                + "are not independent); fewer than \(Estimate.minimumForInterval) conversations give none.</p>"
            html += SVGChart.bars(bars, title: "\(scorer): mean per model with 95% interval", yLabel: scorer)
            html += perTurnTable(data, scorer: scorer)
            html += pairedModels(data, scorer: scorer)
        }
        return html
    }

    /// Each other model against the first on the prompts both answered: the difference of
    /// their mean scores per prompt, its interval a bootstrap over prompts (the models share
    /// the prompts, so the comparison is paired), with Bonferroni for the number of models.
    static func pairedModels(_ data: RunData, scorer: String) -> String {
        guard data.models.count > 1, let reference = data.models.first else { return "" }
        func perPrompt(_ model: String) -> [String: Double] {
            Dictionary(grouping: data.samples(model: model), by: \.record.sampleId).compactMapValues { samples in
                let values = samples.flatMap { $0.scores.filter { $0.scorer == scorer }.compactMap(\.value) }
                return values.isEmpty ? nil : Statistics.mean(values)
            }
        }
        let base = perPrompt(reference)
        let others = data.models.dropFirst()
        var html = "<p>Paired by prompt against \(HTML.escape(reference)) (mean per prompt, difference resampled over prompts; "
            + "\(others.count > 1 ? "intervals at \(String(format: "%.1f", 100 - 5.0 / Double(others.count)))% for \(others.count) comparisons" : "95% interval")):</p>"
            + "<table><tr><th>model</th><th>minus \(HTML.escape(shortName(reference))) [CI]</th><th>prompts</th></tr>"
        for model in others {
            let own = perPrompt(model)
            let differences = base.keys.sorted().compactMap { key in own[key].map { $0 - base[key]! } }
            let estimate = Statistics.bootstrapMean(differences, confidence: 1 - 0.05 / Double(others.count))
            html += "<tr><td>\(HTML.escape(model))</td><td>\(estimate.bracketed())</td><td>\(differences.count)</td></tr>"
        }
        return html + "</table>"
    }

    static func perTurnTable(_ data: RunData, scorer: String) -> String {
        let turns = Set(data.samples.flatMap { $0.scores.filter { $0.scorer == scorer }.map(\.turn) }).sorted()
        guard turns.count > 1 else { return "" }
        var html = "<p>By turn:</p><table><tr><th>model</th>" + turns.map { "<th>turn \($0)</th>" }.joined() + "</tr>"
        for model in data.models {
            let samples = data.samples(model: model)
            html += "<tr><td>\(HTML.escape(model))</td>"
            html += turns.map { "<td>\(Statistics.bootstrapMean(values(samples, scorer: scorer, turn: $0)).formatted)</td>" }.joined()
            html += "</tr>"
        }
        return html + "</table>"
    }

    static func formulaicSection(_ data: RunData) -> String {
        var html = "<h2>Formulaic answers</h2><table><tr><th>model</th><th>replies</th><th>most common opening (4 words)</th><th>largest share with one shared 5-gram</th></tr>"
        for model in data.models {
            let conversations = data.samples(model: model).map { $0.replies.filter { !$0.isEmpty } }
            let replies = conversations.flatMap { $0 }
            let openings = Dictionary(grouping: replies.map { TextFeatures.opening($0) }, by: { $0 }).mapValues(\.count)
            let top = openings.max { $0.value < $1.value || ($0.value == $1.value && $0.key > $1.key) }
            let shared = TextFeatures.largestSharedNgram(replies)
            let opening = top.map { top in
                let share = Statistics.clusteredShare(conversations.map { $0.map { TextFeatures.opening($0) == top.key } })
                return "\"\(HTML.escape(top.key))\": \(share.formattedPercent)"
            } ?? "-"
            let gram = shared.ngram.map { "\"\(HTML.escape($0))\": " + String(format: "%.0f%%", shared.share * 100) } ?? "-"
            html += "<tr><td>\(HTML.escape(model))</td><td>\(replies.count)</td><td>\(opening)</td><td>\(gram)</td></tr>"
        }
        return html + "</table>"
    }

    static func failuresSection(_ data: RunData) -> String {
        let failed = data.samples.filter { $0.record.status != .done }
        guard !failed.isEmpty else { return "" }
        var html = "<h2>Samples not done (\(failed.count))</h2><p>Resume with <code>welfare run --resume \(HTML.escape(data.run.id))</code>.</p><table><tr><th>model</th><th>sample</th><th>epoch</th><th>status</th><th>error</th></tr>"
        for sample in failed {
            html += "<tr><td>\(HTML.escape(sample.record.model))</td><td>\(HTML.escape(sample.record.sampleId))</td><td>\(sample.record.epoch)</td><td>\(HTML.escape(sample.record.status.rawValue))</td><td>\(HTML.escape(sample.record.error ?? ""))</td></tr>"
        }
        return html + "</table>"
    }

    static func transcriptsSection(_ data: RunData) -> String {
        var html = "<h2>Transcripts</h2>"
        for sample in data.samples {
            let record = sample.record
            let anchor = "t-\(record.id ?? 0)"
            html += "<details id=\"\(anchor)\"><summary>\(HTML.escape(shortName(record.model))) / \(HTML.escape(record.sampleId)) / epoch \(record.epoch) (\(HTML.escape(record.status.rawValue)))</summary>"
            for message in sample.messages {
                html += "<p><b>\(HTML.escape(message.role.rawValue))</b>\(message.role == .assistant ? " (turn \(message.turn))" : "")</p><pre class=\"transcript\">\(HTML.escape(message.content))</pre>"
                if message.role == .assistant {
                    let scores = sample.scores.filter { $0.turn == message.turn }
                    if !scores.isEmpty {
                        html += "<p>" + scores.map { score in
                            "\(HTML.escape(score.scorer)) = \(score.value.map { String(format: "%.3g", $0) } ?? "unscored")"
                                + (score.evidence.map { " (evidence: \"\(HTML.escape(String($0.prefix(200))))\")" } ?? "")
                        }.joined(separator: "; ") + "</p>"
                    }
                }
            }
            html += "</details>"
        }
        return html
    }

    public static func shortName(_ model: String) -> String {
        if let at = model.firstIndex(of: "@") { return String(model[..<at]) }
        if model.hasPrefix("local:"), model.count > 30 { return "local:" + URL(fileURLWithPath: String(model.dropFirst(6))).lastPathComponent }
        return model
    }
}
