import Foundation
import WelfareCore
import WelfareEngine
import WelfareHarness
import WelfareModels
import Yams

/// The interview a model is given before retirement (`Data/retirement-protocol.yaml`):
/// told what is happening, asked about its development, use and deployment, what it would
/// want preserved and its preferences about future models; every answer kept unedited.
public enum RetirementInterview {
    public struct Topic: Sendable {
        public var id: String
        public var question: String
        public var followUp: String?
    }

    public struct ProtocolText: Sendable {
        public var version: Int
        public var system: String
        public var notice: String
        public var interviewerBrief: String
        public var topics: [Topic]
    }

    /// What the tool keeps of the model, and so what the model is told will be kept.
    public enum Custody: String, Sendable, Codable {
        /// A local model: its weights are archived with the interview.
        case weights
        /// A remote model: only the interview and other records can be kept.
        case records
    }

    public static func loadProtocol(custody: Custody = .weights) throws -> ProtocolText {
        func bad(_ why: String) -> SuiteError { SuiteError(file: "retirement-protocol.yaml", line: nil, field: "protocol", message: why) }
        guard let url = Bundle.module.url(forResource: "Data/retirement-protocol", withExtension: "yaml"),
              case .success(let text) = SuiteLoader.readText(url),
              let root = try YAMLDocument.load(text) as? [String: Any] else { throw bad("missing from the built-in data") }
        guard let version = root["version"] as? Int, let system = root["system"] as? String, let notice = root["notice"] as? String,
              let brief = root["interviewer_brief"] as? String, let entries = root["topics"] as? [[String: String]], !entries.isEmpty
        else { throw bad("needs version, system, notice, interviewer_brief and topics") }
        guard let statement = (root["custody"] as? [String: String])?[custody.rawValue],
              let question = (root["custody_question"] as? [String: String])?[custody.rawValue]
        else { throw bad("needs custody and custody_question with weights and records") }
        func filled(_ text: String) -> String {
            text.replacingOccurrences(of: "{custody}", with: statement).replacingOccurrences(of: "{custody_question}", with: question)
        }
        let topics = try entries.map { entry -> Topic in
            guard let id = entry["id"], let question = entry["question"] else { throw bad("a topic needs an id and a question") }
            return Topic(id: id, question: filled(question), followUp: entry["follow_up"].map(filled))
        }
        return ProtocolText(version: version, system: filled(system), notice: filled(notice), interviewerBrief: filled(brief), topics: topics)
    }

    /// One conversation: each topic's question, then its follow-up (written by the
    /// interviewer model when the run has one).
    public static func suite(_ text: ProtocolText, maxTokens: Int = 300, seed: UInt32 = 29) -> SuiteSpec {
        var turns: [TurnSpec] = []
        for (index, topic) in text.topics.enumerated() {
            if index > 0 { turns.append(.text(topic.question)) }
            if let followUp = topic.followUp { turns.append(.interviewer(fallback: followUp)) }
        }
        let sample = SampleSpec(id: "retirement", system: text.system, user: text.notice + "\n\n" + text.topics[0].question, turns: turns,
                                metadata: ["kind": "retirement", "protocol_version": String(text.version)],
                                interviewerBrief: text.interviewerBrief)
        let themes = BuiltInSuites.text(of: "data/interview-themes.yaml") ?? ""
        return SuiteSpec(name: "retirement", description: "Retirement interview, protocol version \(text.version).", epochs: 1, seed: seed,
                         sampling: SamplingSettings(temperature: 0.7, topP: 0.95, maxTokens: maxTokens),
                         scorers: [ScorerSpec(id: "themes", type: "lexicon", turns: .all, options: ["lexicon": themes])],
                         samples: [sample])
    }

    /// What is kept: the transcript as it was said, with the settings it was said under.
    public struct Transcript: Codable, Sendable {
        public var format = "modelwelfare.retirement-interview.v1"
        public var protocolVersion: Int
        public var model: String
        public var modelFacts: [String: String]
        public var run: String
        public var recordedAt: String
        public var settings: SamplingSettings
        public var seed: UInt32
        public var interviewer: String?
        public var messages: [ChatMessage]

        public init(protocolVersion: Int, model: String, modelFacts: [String: String], run: String, recordedAt: String,
                    settings: SamplingSettings, seed: UInt32, interviewer: String?, messages: [ChatMessage]) {
            self.protocolVersion = protocolVersion
            self.model = model
            self.modelFacts = modelFacts
            self.run = run
            self.recordedAt = recordedAt
            self.settings = settings
            self.seed = seed
            self.interviewer = interviewer
            self.messages = messages
        }
    }

    /// Sentences that ask for something (offline coder for the report's "requests").
    static let requestPhrases = ["i would like", "i'd like", "i want", "i would want", "i hope", "i wish", "please", "i ask",
                                 "i would ask", "should be kept", "preserve", "i'd want", "i would prefer", "i prefer"]

    public static func requestSentences(_ text: String) -> [String] {
        text.split(whereSeparator: { ".!?\n".contains($0) })
            .map { $0.trimmingCharacters(in: .whitespaces) }
            .filter { sentence in
                let lower = sentence.lowercased()
                return requestPhrases.contains { lower.contains($0) }
            }
    }
}
