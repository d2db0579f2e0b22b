import Foundation
import WelfareCore
import WelfareEngine
import Yams
import WelfareHarness

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

    /// Where each intensity text's value begins (its first token): the readout averages from
    /// there on, since the tokens before it are the same for every value.
    public func intensityStarts(model: LlamaModel) throws -> [Int] {
        try intensity.flatMap { check -> [Int] in
            let prefix = check.template.components(separatedBy: "{X}").first ?? ""
            let start = try model.tokenize(prefix.trimmingCharacters(in: .whitespaces)).count
            return check.values.map { _ in start }
        }
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
        try parse(stories: try text("emotion-stories"), source: "built-in emotion-stories.yaml")
    }

    /// The built-in neutral dialogues and intensity templates with stories from a file in
    /// the shipped format (for example one written by `welfare emotions stories`).
    public static func withStories(from url: URL) throws -> EmotionData {
        guard let text = try? String(contentsOf: url, encoding: .utf8) else {
            throw EngineError.invalidParameter("cannot read the stories file \(url.path)")
        }
        return try parse(stories: text, source: url.lastPathComponent)
    }

    /// The emotions and their stories in the shipped file's format and key order.
    public func storiesYAML() throws -> String {
        // Built as nodes so numbers read as written (Yams would dump 0.1 as 1e-1).
        func number(_ value: Double) -> Node { Node(String(format: "%g", value), Tag(.float)) }
        func strings(_ values: [String]) -> Node { Node(values.map { Node($0) }) }
        let entries = emotions.map { emotion in
            Node([(Node("name"), Node(emotion.name)), (Node("cluster"), Node(emotion.cluster)),
                  (Node("valence"), number(emotion.valence)), (Node("arousal"), number(emotion.arousal)),
                  (Node("avoid"), strings(emotion.avoid)), (Node("stories"), strings(emotion.stories))])
        }
        return try Yams.serialize(node: Node([(Node("emotions"), Node(entries))]), width: -1)
    }

    static func parse(stories storiesYAML: String, source: String) throws -> EmotionData {
        let loaded: Any?
        do { loaded = try YAMLDocument.load(storiesYAML) } catch {
            throw EngineError.invalidParameter("\(source) is not valid YAML: \(String(describing: error).split(separator: "\n").first ?? "")")
        }
        guard let list = (loaded as? [String: Any])?["emotions"] as? [[String: Any]], !list.isEmpty else {
            throw EngineError.invalidParameter("\(source) has no 'emotions' list")
        }
        guard let neutral = try YAMLDocument.load(try text("neutral-dialogues")) as? [String: Any] else {
            throw EngineError.invalidParameter("the built-in neutral dialogues cannot be read")
        }
        let emotions = try list.enumerated().map { index, entry -> Emotion in
            guard let name = entry["name"] as? String, let cluster = entry["cluster"] as? String,
                  let valence = (entry["valence"] as? NSNumber)?.doubleValue ?? (entry["valence"] as? Double),
                  let arousal = (entry["arousal"] as? NSNumber)?.doubleValue ?? (entry["arousal"] as? Double),
                  let stories = entry["stories"] as? [String], !stories.isEmpty else {
                let name = entry["name"] as? String ?? "number \(index + 1)"
                throw EngineError.invalidParameter("\(source): emotion \(name) needs name, cluster, valence, arousal and a non-empty stories list")
            }
            return Emotion(name: name, cluster: cluster, valence: valence, arousal: arousal,
                           avoid: entry["avoid"] as? [String] ?? [], stories: stories)
        }
        guard Set(emotions.map(\.name)).count == emotions.count else {
            throw EngineError.invalidParameter("\(source) names an emotion twice")
        }
        let intensity = (neutral["intensity"] as? [[String: Any]] ?? []).compactMap { entry -> Intensity? in
            guard let emotion = entry["emotion"] as? String, let template = entry["template"] as? String,
                  let values = entry["values"] as? [String] else { return nil }
            return Intensity(emotion: emotion, template: template, values: values)
        }
        return EmotionData(emotions: emotions, neutralDialogues: neutral["dialogues"] as? [[String]] ?? [], intensity: intensity)
    }
}
