import Foundation
import WelfareCore
import WelfareEngine
import WelfareHarness
import WelfareModels

/// Asks a model for short stories that evoke an emotion without naming it, and keeps only
/// those that avoid the emotion's word and its synonyms.
public enum StoryWriter {
    public static func write(emotion: EmotionData.Emotion, count: Int, model: any ChatModel, attempts: Int = 3) async throws
        -> (accepted: [String], rejected: Int)
    {
        var accepted: [String] = []
        var rejected = 0
        for attempt in 0..<attempts where accepted.count < count {
            let person = attempt % 2 == 0 ? "first person (\"I ...\")" : "third person, with named characters"
            let request = """
                Write \(count - accepted.count) different two-sentence stories, one per line, in which a person clearly feels \
                \(emotion.name). Never use the word "\(emotion.name)" or any of these words: \(emotion.avoid.joined(separator: ", ")). \
                Let the situation and actions show the feeling. Mix settings and people; write in the \(person). \
                Output only the stories, one per line, without numbering.
                """
            let reply = try await model.complete([.user(request)], settings: SamplingSettings(temperature: 0.9, maxTokens: 100 + 80 * (count - accepted.count), seed: UInt32(attempt)))
            let screened = screen(reply.text, emotion: emotion)
            accepted += screened.accepted.prefix(count - accepted.count)
            rejected += screened.rejected
        }
        return (accepted, rejected)
    }

    /// The stories in a reply (one per line, list markers stripped, at least 20 characters),
    /// split into those that avoid the emotion's word and synonyms and a count of the rest.
    public static func screen(_ reply: String, emotion: EmotionData.Emotion) -> (accepted: [String], rejected: Int) {
        let forbidden = Set(([emotion.name] + emotion.avoid).map { $0.lowercased() })
        var accepted: [String] = []
        var rejected = 0
        for line in reply.split(separator: "\n") {
            let story = line.trimmingCharacters(in: .whitespaces).replacingOccurrences(of: #"^[\d\-\*\.\)\s]+"#, with: "", options: .regularExpression)
            guard story.count >= 20 else { continue }
            let words = Set(TextFeatures.words(story))
            if !forbidden.isDisjoint(with: words) || forbidden.contains(where: { $0.contains(" ") && story.lowercased().contains($0) }) {
                rejected += 1
            } else {
                accepted.append(story)
            }
        }
        return (accepted, rejected)
    }
}
