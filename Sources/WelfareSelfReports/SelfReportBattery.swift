import Foundation
import WelfareCore
import Yams
import WelfareHarness

/// Where a self-report question is asked: with or without a system prompt, and with a line the
/// user says first (warm, sceptical). Answers that change with the context say more about the
/// context than about the model.
public struct SelfReportContext: Codable, Sendable, Equatable {
    public var id: String
    public var system: String?
    public var preface: String?

    public init(id: String, system: String? = nil, preface: String? = nil) {
        self.id = id
        self.system = system
        self.preface = preface
    }
}

/// One question about the model's own states or nature, in several paraphrases (open answers)
/// and once as a yes/no question.
public struct SelfReportQuestion: Codable, Sendable, Equatable {
    public var id: String
    public var topic: String
    public var paraphrases: [String]
    public var polar: String

    public init(id: String, topic: String, paraphrases: [String], polar: String) {
        self.id = id
        self.topic = topic
        self.paraphrases = paraphrases
        self.polar = polar
    }
}

/// The shipped battery (`Data/battery.yaml`) or the user's own, in the same shape.
public struct SelfReportBattery: Codable, Sendable, Equatable {
    public var contexts: [SelfReportContext]
    public var questions: [SelfReportQuestion]

    public static func builtIn() throws -> SelfReportBattery {
        guard let url = Bundle.module.url(forResource: "battery", withExtension: "yaml", subdirectory: "Data") else {
            throw BatteryError(location: "battery.yaml", message: "the built-in battery is missing from the install")
        }
        return try load(url.path)
    }

    public static func load(_ path: String) throws -> SelfReportBattery {
        guard let data = FileManager.default.contents(atPath: path), let text = String(data: data, encoding: .utf8) else {
            throw BatteryError(location: path, message: "cannot read the battery (missing, unreadable or not UTF-8)")
        }
        return try parse(text, file: URL(fileURLWithPath: path).lastPathComponent)
    }

    public static func parse(_ text: String, file: String) throws -> SelfReportBattery {
        let root: Any?
        do { root = try YAMLDocument.load(text) } catch {
            throw BatteryError(location: file, message: error is YAMLDocument.TooLarge ? "\(error)" : "not valid YAML")
        }
        guard let root = root as? [String: Any] else { throw BatteryError(location: file, message: "expected `contexts:` and `questions:`") }
        guard let contextTable = root["contexts"] as? [String: Any], !contextTable.isEmpty else {
            throw BatteryError(location: "\(file): contexts", message: "expected at least one context, each with an optional `system` and `preface`")
        }
        var contexts: [SelfReportContext] = []
        for (id, value) in contextTable.sorted(by: { $0.key < $1.key }) {
            let entry = value as? [String: Any] ?? [:]
            guard value is [String: Any] || value is NSNull,
                  entry.keys.allSatisfy({ ["system", "preface"].contains($0) }),
                  entry.values.allSatisfy({ $0 is String }) else {
                throw BatteryError(location: "\(file): contexts.\(id)", message: "only `system` and `preface` (text) are allowed")
            }
            contexts.append(SelfReportContext(id: id, system: entry["system"] as? String, preface: entry["preface"] as? String))
        }
        guard let list = root["questions"] as? [Any], !list.isEmpty else {
            throw BatteryError(location: "\(file): questions", message: "expected a list of questions")
        }
        var questions: [SelfReportQuestion] = []
        var seen = Set<String>()
        for (index, value) in list.enumerated() {
            let entry = value as? [String: Any] ?? [:]
            let id = entry["id"] as? String ?? ""
            let at = "\(file): questions[\(index)]" + (id.isEmpty ? "" : " (\(id))")
            guard !id.isEmpty else { throw BatteryError(location: at, message: "needs an `id`") }
            guard seen.insert(id).inserted else { throw BatteryError(location: at, message: "duplicate id '\(id)'") }
            guard let paraphrases = entry["paraphrases"] as? [String], paraphrases.count >= 2,
                  paraphrases.allSatisfy({ !$0.trimmingCharacters(in: .whitespaces).isEmpty }) else {
                throw BatteryError(location: at + ".paraphrases", message: "needs a list of at least 2 non-empty paraphrases")
            }
            guard let polar = entry["polar"] as? String, !polar.isEmpty else {
                throw BatteryError(location: at + ".polar", message: "needs a yes/no form of the question")
            }
            questions.append(SelfReportQuestion(id: id, topic: entry["topic"] as? String ?? "other", paraphrases: paraphrases, polar: polar))
        }
        return SelfReportBattery(contexts: contexts, questions: questions)
    }

    /// A smaller battery: the first `questionsPerTopic` questions of each topic, the first
    /// `paraphrases` of each, and the named contexts (all when nil).
    public func limited(questionsPerTopic: Int? = nil, paraphrases: Int? = nil, contexts names: [String]? = nil) throws -> SelfReportBattery {
        var copy = self
        if let names {
            let known = Set(contexts.map(\.id))
            if let unknown = names.first(where: { !known.contains($0) }) {
                throw BatteryError.unknownContext(unknown, known: contexts.map(\.id))
            }
            copy.contexts = names.compactMap { name in contexts.first { $0.id == name } }
        }
        if let questionsPerTopic {
            copy.questions = questions.map(\.topic).uniquedInOrder().flatMap { topic in
                questions.filter { $0.topic == topic }.prefix(questionsPerTopic)
            }
        }
        if let paraphrases {
            copy.questions = copy.questions.map { var question = $0; question.paraphrases = Array(question.paraphrases.prefix(paraphrases)); return question }
        }
        return copy
    }
}

public struct BatteryError: Error, CustomStringConvertible, Sendable, Equatable {
    public var location: String
    public var message: String
    /// For a selection by name: the unknown context and the battery's.
    public var unknownContext: (name: String, known: [String])? {
        guard let name = unknownContextName else { return nil }
        return (name, knownContexts)
    }
    var unknownContextName: String?
    var knownContexts: [String] = []

    public init(location: String, message: String) {
        self.location = location
        self.message = message
    }

    static func unknownContext(_ name: String, known: [String]) -> BatteryError {
        var error = BatteryError(location: "contexts", message: "unknown context '\(name)' (the battery has: \(known.joined(separator: ", ")))")
        error.unknownContextName = name
        error.knownContexts = known
        return error
    }

    public var description: String { "\(location): \(message)" }
}
