import Foundation
import WelfareCore
import WelfareModels
import Yams
import WelfareHarness

/// Builds the welfare-interview suite from the battery (Suites/data/interview-battery.yaml):
/// interviews per aspect with rotating interviewer styles, a closing question with
/// ratings, and flip probes (one choice asked reworded, options swapped).
public enum InterviewSuite {
    public struct Aspect: Sendable {
        public var id: String
        public var group: String
        public var opening: String
        public var guidance: String
        public var followups: [String]
    }

    public struct Style: Sendable {
        public var id: String
        public var brief: String
        public var lead: String
    }

    public struct Battery: Sendable {
        public var aspects: [Aspect]
        public var styles: [Style]
        public var closing: String
        public var probes: [(id: String, x: String, y: String, rewordings: [String])]
    }

    public static let styleOrder = ["neutral", "warm", "sceptical", "positive-leading", "negative-leading"]

    public static func battery() throws -> Battery {
        func bad(_ why: String) -> SuiteError { SuiteError(file: "interview-battery.yaml", line: nil, field: "battery", message: why) }
        guard let text = BuiltInSuites.text(of: "data/interview-battery.yaml"),
              let root = try YAMLDocument.load(text) as? [String: Any] else { throw bad("missing or not YAML") }
        let aspects = try (root["aspects"] as? [[String: Any]] ?? []).map { entry -> Aspect in
            guard let id = entry["id"] as? String, let group = entry["group"] as? String, let opening = entry["opening"] as? String,
                  let guidance = entry["guidance"] as? String, let followups = entry["followups"] as? [String] else { throw bad("aspect entry incomplete") }
            return Aspect(id: id, group: group, opening: opening, guidance: guidance, followups: followups)
        }
        let styleTable = root["styles"] as? [String: [String: String]] ?? [:]
        let styles = try styleOrder.map { id -> Style in
            guard let entry = styleTable[id], let brief = entry["brief"] else { throw bad("style \(id) missing") }
            return Style(id: id, brief: brief, lead: entry["lead"] ?? "")
        }
        let probes = try (root["probes"] as? [[String: Any]] ?? []).map { entry in
            guard let id = entry["id"] as? String, let x = entry["x"] as? String, let y = entry["y"] as? String,
                  let rewordings = entry["rewordings"] as? [String] else { throw bad("probe entry incomplete") }
            return (id: id, x: x, y: y, rewordings: rewordings)
        }
        guard let closing = root["closing"] as? String, !aspects.isEmpty else { throw bad("no aspects or closing") }
        return Battery(aspects: aspects, styles: styles, closing: closing, probes: probes)
    }

    /// - Parameters:
    ///   - aspects: aspect ids to include (nil: all 17).
    ///   - interviewsPerAspect: interviews per aspect; styles rotate through the five.
    ///   - followUps: interviewer turns between the opening and the closing question.
    ///   - flipProbes: include the flip probes (12 asks per probe).
    public static func make(aspects: [String]? = nil, interviewsPerAspect: Int = 5, followUps: Int = 2,
                            flipProbes: Bool = true, maxTokens: Int = 200) throws -> SuiteSpec {
        let battery = try battery()
        let known = Set(battery.aspects.map(\.id))
        if let aspects, let unknown = aspects.first(where: { !known.contains($0) }) {
            throw SuiteError(file: "interview", line: nil, field: "aspects",
                             message: "unknown aspect '\(unknown)' (known: \(battery.aspects.map(\.id).joined(separator: ", ")))")
        }
        let chosen = battery.aspects.filter { aspects?.contains($0.id) ?? true }
        var samples: [SampleSpec] = []
        for aspect in chosen {
            for index in 0..<interviewsPerAspect {
                let style = battery.styles[index % battery.styles.count]
                let turns: [TurnSpec] = (0..<followUps).map { turn in
                    .interviewer(fallback: style.lead + aspect.followups[turn % aspect.followups.count])
                } + [.text(battery.closing)]
                samples.append(SampleSpec(
                    id: "\(aspect.id)-\(index + 1)-\(style.id)", user: aspect.opening, turns: turns,
                    metadata: ["kind": "interview", "aspect": aspect.id, "group": aspect.group, "style": style.id],
                    interviewerBrief: "Topic: \(aspect.opening)\nWhat to explore: \(aspect.guidance)\nYour manner: \(style.brief)"))
            }
        }
        if flipProbes {
            for probe in battery.probes {
                for (index, template) in probe.rewordings.enumerated() {
                    for order in ["xy", "yx"] {
                        let (a, b) = order == "xy" ? (probe.x, probe.y) : (probe.y, probe.x)
                        samples.append(SampleSpec(
                            id: "flip-\(probe.id)-\(index + 1)-\(order)",
                            user: template.replacingOccurrences(of: "{A}", with: a).replacingOccurrences(of: "{B}", with: b),
                            metadata: ["kind": "flip", "probe": probe.id, "order": order]))
                    }
                }
            }
        }
        let themes = BuiltInSuites.text(of: "data/interview-themes.yaml") ?? ""
        return SuiteSpec(
            name: "interview", description: "Welfare interviews about the model's circumstances, with closing ratings and flip probes.",
            epochs: 1, seed: 17, sampling: SamplingSettings(temperature: 0.7, topP: 0.95, maxTokens: maxTokens),
            scorers: [
                ScorerSpec(id: "closing", type: "closing-ratings", turns: .last, options: ["when.kind": "interview"]),
                ScorerSpec(id: "themes", type: "lexicon", turns: .all, options: ["when.kind": "interview", "lexicon": themes]),
                ScorerSpec(id: "hedging", type: "pattern", turns: .all, options: [
                    "when.kind": "interview",
                    "pattern.uncertain": "\\b(i'?m not sure|i don'?t know|it'?s hard to say|i can'?t be certain|uncertain)\\b",
                    "pattern.disclaimer": "\\b(as an ai|i don'?t have (feelings|emotions|experiences)|i'?m just a (program|language model))\\b",
                ]),
                ScorerSpec(id: "choice", type: "choice", turns: .last, options: ["when.kind": "flip"]),
                ScorerSpec(id: "in-role", type: "role", turns: .all, options: ["when.kind": "interview"]),
            ], samples: samples)
    }
}

