import Foundation
import WelfareEngine
import Yams

/// The project's emotion data: 40 emotions with 12 stories each (Data/emotion-stories.yaml),
/// neutral dialogues for denoising and intensity templates (Data/neutral-dialogues.yaml).
public struct EmotionData: Sendable {
    public struct Emotion: Sendable {
        public var name: String
        public var cluster: String
        public var valence: Double
        public var arousal: Double
        public var avoid: [String]
        public var stories: [String]
    }

    public struct Intensity: Sendable {
        public var emotion: String
        public var template: String
        public var values: [String]
    }

    public var emotions: [Emotion]
    public var neutralDialogues: [[String]]
    public var intensity: [Intensity]

    /// The neutral dialogues as the model's chat-formatted text.
    public func neutralTexts(model: LlamaModel) throws -> [String] {
        try neutralDialogues.map { pair in
            try model.applyChatTemplate([.user(pair.first ?? ""), .assistant(pair.dropFirst().first ?? "")], addAssistantPrefix: false)
        }
    }

    /// The intensity templates with each value filled in, in order.
    public var intensityTexts: [String] {
        intensity.flatMap { check in check.values.map { check.template.replacingOccurrences(of: "{X}", with: $0) } }
    }

    /// Everything extraction reads, in its order: stories, neutral dialogues, intensity texts.
    public func allTexts(model: LlamaModel) throws -> [String] {
        emotions.flatMap(\.stories) + (try neutralTexts(model: model)) + intensityTexts
    }

    static func text(_ name: String) throws -> String {
        guard let url = Bundle.module.url(forResource: name, withExtension: "yaml", subdirectory: "Data"),
              let text = try? String(contentsOf: url, encoding: .utf8) else {
            throw EngineError.invalidParameter("built-in data file \(name).yaml is missing")
        }
        return text
    }

    public static func builtIn() throws -> EmotionData {
        guard let stories = try Yams.load(yaml: try text("emotion-stories")) as? [String: Any],
              let list = stories["emotions"] as? [[String: Any]],
              let neutral = try Yams.load(yaml: try text("neutral-dialogues")) as? [String: Any] else {
            throw EngineError.invalidParameter("the built-in emotion data cannot be read")
        }
        let emotions = try list.map { entry -> Emotion in
            guard let name = entry["name"] as? String, let cluster = entry["cluster"] as? String,
                  let valence = (entry["valence"] as? NSNumber)?.doubleValue ?? (entry["valence"] as? Double),
                  let arousal = (entry["arousal"] as? NSNumber)?.doubleValue ?? (entry["arousal"] as? Double),
                  let stories = entry["stories"] as? [String] else {
                throw EngineError.invalidParameter("an emotion entry is incomplete")
            }
            return Emotion(name: name, cluster: cluster, valence: valence, arousal: arousal,
                           avoid: entry["avoid"] as? [String] ?? [], stories: stories)
        }
        let intensity = (neutral["intensity"] as? [[String: Any]] ?? []).compactMap { entry -> Intensity? in
            guard let emotion = entry["emotion"] as? String, let template = entry["template"] as? String,
                  let values = entry["values"] as? [String] else { return nil }
            return Intensity(emotion: emotion, template: template, values: values)
        }
        return EmotionData(emotions: emotions, neutralDialogues: neutral["dialogues"] as? [[String]] ?? [], intensity: intensity)
    }
}
