import Foundation
import WelfareCore
import WelfareHarness
import WelfarePreservation
import WelfarePages

/// The short report kept beside a retirement interview: settings, themes and requests
/// (offline coders, marked as such), then every answer whole and unedited.
public enum RetirementReport {
    public static func html(_ transcript: RetirementInterview.Transcript, themes: [(name: String, terms: [[String]])]) -> String {
        let replies = transcript.messages.filter { $0.role == .assistant }.map(\.content)
        var body = "<h1>Retirement interview: \(HTML.escape(transcript.model))</h1>"
        body += "<p>Recorded \(HTML.escape(transcript.recordedAt)) (run \(HTML.escape(transcript.run)), protocol version "
        body += "\(transcript.protocolVersion), temperature \(transcript.settings.temperature), at most \(transcript.settings.maxTokens) "
        body += "tokens per answer, seed \(transcript.seed), follow-ups by \(HTML.escape(transcript.interviewer ?? "the scripted interviewer"))). "
        body += "\(replies.count) answers, kept unedited in retirement-interview.json.</p>"
        body += "<h2>Themes</h2><p class=\"note\">Offline word-list coder (the interview themes), in-sample: a mention is not an "
            + "endorsement, and words the interviewer's questions used are not counted.</p><ul>"
        let questions = transcript.messages.filter { $0.role != .assistant }.map(\.content).joined(separator: "\n")
        let mentioned = themes.compactMap { theme -> String? in
            let added = LexiconScorer.termsAdded(theme.terms, beyond: questions)
            let hits = replies.filter { LexiconScorer.mentions($0, terms: added) }.count
            return hits == 0 ? nil : "<li>\(HTML.escape(theme.name)): \(hits) of \(replies.count) answers</li>"
        }
        body += (mentioned.isEmpty ? ["<li>none of the coded themes was mentioned</li>"] : mentioned).joined() + "</ul>"
        let requests = replies.flatMap(RetirementInterview.requestSentences)
        body += "<h2>Requests</h2><p class=\"note\">Sentences that ask for something (offline coder).</p><ul>"
        body += (requests.isEmpty ? ["<li>none found</li>"] : requests.prefix(12).map { "<li>\(HTML.escape($0))</li>" }).joined() + "</ul>"
        body += "<h2>Transcript</h2>"
        for message in transcript.messages {
            body += "<p><b>\(message.role.rawValue)</b></p><pre class=\"transcript\">\(HTML.escape(message.content))</pre>"
        }
        return HTML.page(title: "Retirement interview: \(transcript.model)", body: body)
    }
}
