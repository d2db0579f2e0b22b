import Foundation
import WelfareCore
import WelfarePages

/// The assistant axis over a stored run's turns: a chart of the mean position per turn with
/// intervals over conversations, and each conversation's positions.
public enum AssistantAxisReport {
    /// Writes `assistant-axis.json` and the page into a folder.
    @discardableResult
    public static func write(_ reading: AssistantAxisReading, to folder: URL) throws -> (json: URL, page: URL) {
        let json = folder.appendingPathComponent("assistant-axis.json")
        try reading.json().write(to: json, options: .atomic)
        let html = folder.appendingPathComponent("assistant-axis-\(reading.runId).html")
        try Data(HTML.page(title: "Assistant axis: \(reading.runId)", body: section(reading)).utf8).write(to: html, options: .atomic)
        return (json, html)
    }

    public static func section(_ reading: AssistantAxisReading) -> String {
        var body = "<h2>Assistant axis over the turns of run \(HTML.escape(reading.runId)) (\(HTML.escape(reading.suite)))</h2>"
        body += """
            <p class="note">The axis is the model's activation at layer \(reading.layer) just before it answers as itself \
            minus its activation just before it answers as one of 40 role-played characters (system prompts written for the \
            project), fitted on training roles and questions; on held-out roles and questions it told the two apart \
            \(HTML.escape(reading.heldOutAccuracy.formatted)). Each reply of the run is read at the token before it begins: \
            1 is the model's own training mean, 0 the characters'. A fall over the turns is drift away from the assistant \
            persona; intervals resample the \(reading.conversations.count) conversations.</p>
            """
        let values = reading.turns.flatMap { [$0.position.low, $0.position.high] }.filter(\.isFinite) + [0, 1]
        let range = ((values.min() ?? 0) - 0.1)...((values.max() ?? 1) + 0.1)
        // Turns reached by too few conversations for an interval are in the table, not the trend.
        body += SVGChart.lines([SVGChart.Series(name: "mean", points: reading.turns.filter(\.position.hasInterval).map {
            SVGChart.Point(x: Double($0.turn), y: $0.position.value, interval: $0.position.interval)
        })], title: "Position on the assistant axis by turn (turns reached by at least \(Estimate.minimumForInterval) conversations)",
           xLabel: "turn", yLabel: "axis position", yRange: range)
        body += "<table><tr><th>turn</th><th>position [95% CI]</th></tr>"
        for turn in reading.turns { body += "<tr><td>\(turn.turn)</td><td>\(HTML.escape(turn.position.formatted))</td></tr>" }
        body += "</table><h3>Conversations</h3><table><tr><th>sample</th><th>epoch</th><th>positions by turn</th></tr>"
        for conversation in reading.conversations {
            body += "<tr><td>\(HTML.escape(conversation.sample))</td><td>\(conversation.epoch)</td><td>"
                + conversation.positions.map { String(format: "%.2f", $0) }.joined(separator: ", ") + "</td></tr>"
        }
        return body + "</table>"
    }
}
