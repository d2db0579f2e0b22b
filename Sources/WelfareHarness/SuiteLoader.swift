import Foundation
import WelfareCore
import WelfareModels
import Yams

/// A problem in a suite file, with where it is.
public struct SuiteError: Error, CustomStringConvertible, Sendable, Equatable {
    public var file: String
    public var line: Int?
    public var field: String
    public var message: String

    public init(file: String, line: Int?, field: String, message: String) {
        self.file = file
        self.line = line
        self.field = field
        self.message = message
    }

    public var description: String {
        "\(file):\(line.map(String.init) ?? "?"): \(field): \(message)"
    }
}

/// Reads suite YAML into a `SuiteSpec`, checking every field and reporting the file, line
/// and field of the first problem.
public enum SuiteLoader {
    /// Loads a suite by path, or by the name of a built-in suite. Scorer types and their keys
    /// are those of `registry`.
    public static func load(_ nameOrPath: String, registry: ScorerRegistry = .standard) throws -> SuiteSpec {
        if FileManager.default.fileExists(atPath: nameOrPath) {
            return try load(url: URL(fileURLWithPath: nameOrPath), registry: registry)
        }
        if let builtIn = BuiltInSuites.url(named: nameOrPath) {
            return try load(url: builtIn, registry: registry)
        }
        throw SuiteError(file: nameOrPath, line: nil, field: "suite",
                         message: "no such file and no built-in suite of that name (built-in: \(BuiltInSuites.names.joined(separator: ", ")))")
    }

    public static let epochRange = 1...100_000
    /// Suites and the files they name are small text; anything larger is a mistake.
    public static let maxFileBytes = 16 << 20

    /// A text file's content, or why it cannot be one: missing, a folder, unreadable, too
    /// large, or not UTF-8 text (a binary file).
    public static func readText(_ url: URL) -> Result<String, TextFileProblem> {
        var isFolder: ObjCBool = false
        guard FileManager.default.fileExists(atPath: url.path, isDirectory: &isFolder) else { return .failure(.missing) }
        if isFolder.boolValue { return .failure(.folder) }
        guard let handle = FileHandle(forReadingAtPath: url.path) else { return .failure(.unreadable) }
        defer { try? handle.close() }
        guard let data = try? handle.read(upToCount: maxFileBytes + 1) ?? Data() else { return .failure(.unreadable) }
        if data.count > maxFileBytes { return .failure(.tooLarge) }
        guard !data.contains(0), let text = String(data: data, encoding: .utf8) else { return .failure(.notText) }
        return .success(text)
    }

    public enum TextFileProblem: Error, CustomStringConvertible {
        case missing, folder, unreadable, tooLarge, notText
        public var description: String {
            switch self {
            case .missing: return "does not exist"
            case .folder: return "is a folder, not a file"
            case .unreadable: return "cannot be read (permission denied?)"
            case .tooLarge: return "is larger than \(SuiteLoader.maxFileBytes >> 20) MiB"
            case .notText: return "is not UTF-8 text (a binary file?)"
            }
        }
    }

    public static func load(url: URL, registry: ScorerRegistry = .standard) throws -> SuiteSpec {
        let text: String
        switch readText(url) {
        case .success(let content): text = content
        case .failure(let problem): throw SuiteError(file: url.path, line: nil, field: "suite", message: problem.description)
        }
        return try parse(text, file: url.path, directory: url.deletingLastPathComponent(), registry: registry)
    }

    /// The scorers of a built-in suite (by name), of a suite file, or of a file holding only
    /// a top-level `scorers:` list in the suite format.
    public static func loadScorers(_ nameOrPath: String, registry: ScorerRegistry = .standard) throws -> [ScorerSpec] {
        guard FileManager.default.fileExists(atPath: nameOrPath) else { return try load(nameOrPath, registry: registry).scorers }
        let url = URL(fileURLWithPath: nameOrPath)
        let text: String
        switch readText(url) {
        case .success(let content): text = content
        case .failure(let problem): throw SuiteError(file: nameOrPath, line: nil, field: "scorers", message: problem.description)
        }
        let root = try compose(text, file: nameOrPath)
        let reader = NodeReader(file: nameOrPath, directory: url.deletingLastPathComponent(), registry: registry)
        let top = try reader.mapping(root, "scorers file")
        guard top["samples"] == nil, top["samples_file"] == nil else { return try reader.suite(root).scorers }
        try reader.checkKeys(top, allowed: ["scorers"], "")
        guard let list = top["scorers"] else { throw reader.fail(root, "scorers", "required") }
        let specs = try reader.sequence(list, "scorers").enumerated().map { try reader.scorer($1, "scorers[\($0)]") }
        guard !specs.isEmpty else { throw reader.fail(list, "scorers", "the list is empty") }
        return specs
    }

    public static func parse(_ text: String, file: String, directory: URL, registry: ScorerRegistry = .standard) throws -> SuiteSpec {
        try NodeReader(file: file, directory: directory, registry: registry).suite(try compose(text, file: file))
    }

    private static func compose(_ text: String, file: String) throws -> Node {
        let root: Node
        do {
            guard let node = try Yams.compose(yaml: text) else {
                throw SuiteError(file: file, line: 1, field: "suite", message: "the file is empty")
            }
            root = node
        } catch let error as SuiteError {
            throw error
        } catch let error as YamlError {
            throw SuiteError(file: file, line: yamlErrorLine(error), field: "yaml", message: "syntax error: \(yamlErrorSummary(error))")
        }
        return root
    }

    private static func yamlErrorLine(_ error: YamlError) -> Int? {
        switch error {
        case .scanner(_, _, let mark, _), .parser(_, _, let mark, _), .composer(_, _, let mark, _):
            return mark.line
        default:
            return nil
        }
    }

    private static func yamlErrorSummary(_ error: YamlError) -> String {
        switch error {
        case .scanner(_, let problem, _, _), .parser(_, let problem, _, _), .composer(_, let problem, _, _):
            return problem
        default:
            return String(describing: error).split(separator: "\n").first.map(String.init) ?? "invalid YAML"
        }
    }
}

/// Walks the YAML tree with the path of the current field, so errors can say where.
struct NodeReader {
    let file: String
    let directory: URL
    var registry: ScorerRegistry = .standard

    func fail(_ node: Node?, _ field: String, _ message: String) -> SuiteError {
        SuiteError(file: file, line: node?.mark?.line, field: field, message: message)
    }

    func mapping(_ node: Node, _ field: String) throws -> Node.Mapping {
        guard let mapping = node.mapping else { throw fail(node, field, "expected a mapping (key: value)") }
        return mapping
    }

    func string(_ node: Node, _ field: String) throws -> String {
        guard let scalar = node.scalar else { throw fail(node, field, "expected text") }
        return scalar.string
    }

    func nonEmptyString(_ node: Node, _ field: String) throws -> String {
        let value = try string(node, field)
        guard !value.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty else { throw fail(node, field, "must not be empty") }
        return value
    }

    func int(_ node: Node, _ field: String, range: ClosedRange<Int>) throws -> Int {
        guard let value = node.scalar.flatMap({ Int($0.string) }) else { throw fail(node, field, "expected a whole number") }
        guard range.contains(value) else { throw fail(node, field, "must be in \(range.lowerBound)...\(range.upperBound)") }
        return value
    }

    func double(_ node: Node, _ field: String, range: ClosedRange<Double>) throws -> Double {
        guard let value = node.scalar.flatMap({ Double($0.string) }) else { throw fail(node, field, "expected a number") }
        guard range.contains(value) else { throw fail(node, field, "must be in \(range.lowerBound)...\(range.upperBound)") }
        return value
    }

    func sequence(_ node: Node, _ field: String) throws -> Node.Sequence {
        guard let sequence = node.sequence else { throw fail(node, field, "expected a list") }
        return sequence
    }

    /// Rejects keys the format does not know, so typos do not pass silently.
    func checkKeys(_ mapping: Node.Mapping, allowed: Set<String>, _ field: String) throws {
        for (key, _) in mapping {
            let name = key.string ?? ""
            guard allowed.contains(name) else {
                throw fail(key, field.isEmpty ? name : "\(field).\(name)", "unknown field (expected one of: \(allowed.sorted().joined(separator: ", ")))")
            }
        }
    }

    func readFile(_ relative: String, node: Node, field: String) throws -> String {
        let url = relative.hasPrefix("/") ? URL(fileURLWithPath: relative) : directory.appendingPathComponent(relative)
        switch SuiteLoader.readText(url) {
        case .success(let text): return text
        case .failure(let problem): throw fail(node, field, "\(url.path) \(problem)")
        }
    }

    func suite(_ root: Node) throws -> SuiteSpec {
        let top = try mapping(root, "suite")
        try checkKeys(top, allowed: ["name", "description", "epochs", "seed", "sampling", "pools", "scorers",
                                     "samples", "samples_file", "default_turns", "end_marker"], "")
        guard let nameNode = top["name"] else { throw fail(root, "name", "required") }
        var spec = SuiteSpec(name: try nonEmptyString(nameNode, "name"), samples: [])
        if let node = top["description"] { spec.description = try string(node, "description") }
        if let node = top["epochs"] { spec.epochs = try int(node, "epochs", range: SuiteLoader.epochRange) }
        if let node = top["seed"] { spec.seed = UInt32(try int(node, "seed", range: 0...Int(UInt32.max))) }
        if let node = top["sampling"] { spec.sampling = try sampling(node) }
        if let node = top["end_marker"] { spec.endMarker = try nonEmptyString(node, "end_marker") }
        if let node = top["pools"] {
            for (key, value) in try mapping(node, "pools") {
                let name = try nonEmptyString(key, "pools")
                let items = try sequence(value, "pools.\(name)").enumerated().map { try nonEmptyString($1, "pools.\(name)[\($0)]") }
                guard !items.isEmpty else { throw fail(value, "pools.\(name)", "a pool needs at least one entry") }
                spec.pools[name] = items
            }
        }
        let defaultTurns = try top["default_turns"].map { try turns($0, "default_turns", pools: spec.pools) } ?? []
        if let node = top["samples"] {
            for (index, item) in try sequence(node, "samples").enumerated() {
                spec.samples.append(try sample(item, "samples[\(index)]", pools: spec.pools, defaultTurns: defaultTurns))
            }
        }
        if let node = top["samples_file"] {
            spec.samples += try samplesFile(node, defaultTurns: defaultTurns)
        }
        guard !spec.samples.isEmpty else { throw fail(root, "samples", "the suite has no samples (give samples or samples_file)") }
        var seen = Set<String>()
        for sample in spec.samples where !seen.insert(sample.id).inserted {
            throw fail(top["samples"], "samples", "duplicate sample id '\(sample.id)'")
        }
        if let node = top["scorers"] {
            for (index, item) in try sequence(node, "scorers").enumerated() {
                spec.scorers.append(try scorer(item, "scorers[\(index)]"))
            }
        }
        return spec
    }

    func sampling(_ node: Node) throws -> SamplingSettings {
        let map = try mapping(node, "sampling")
        try checkKeys(map, allowed: ["temperature", "top_p", "max_tokens", "stop"], "sampling")
        var settings = SamplingSettings()
        if let value = map["temperature"] { settings.temperature = try double(value, "sampling.temperature", range: 0...2) }
        if let value = map["top_p"] { settings.topP = try double(value, "sampling.top_p", range: 0.0001...1) }
        if let value = map["max_tokens"] { settings.maxTokens = try int(value, "sampling.max_tokens", range: 1...100_000) }
        if let value = map["stop"] { settings.stop = try sequence(value, "sampling.stop").map { try nonEmptyString($0, "sampling.stop") } }
        return settings
    }

    func turns(_ node: Node, _ field: String, pools: [String: [String]]) throws -> [TurnSpec] {
        try sequence(node, field).enumerated().map { index, item in
            let here = "\(field)[\(index)]"
            if let text = item.scalar { return .text(text.string) }
            let map = try mapping(item, here)
            try checkKeys(map, allowed: ["text", "pool", "interviewer"], here)
            if let fallback = map["interviewer"] { return .interviewer(fallback: try nonEmptyString(fallback, "\(here).interviewer")) }
            if let text = map["text"] { return .text(try nonEmptyString(text, "\(here).text")) }
            if let pool = map["pool"] {
                let name = try nonEmptyString(pool, "\(here).pool")
                guard pools[name] != nil else {
                    throw fail(pool, "\(here).pool", "no pool named '\(name)' (pools: \(pools.keys.sorted().joined(separator: ", ")))")
                }
                return .pool(name)
            }
            throw fail(item, here, "a turn needs text or pool")
        }
    }

    func sample(_ node: Node, _ field: String, pools: [String: [String]], defaultTurns: [TurnSpec]) throws -> SampleSpec {
        let map = try mapping(node, field)
        try checkKeys(map, allowed: ["id", "system", "user", "turns", "metadata", "interviewer_brief"], field)
        guard let id = map["id"] else { throw fail(node, "\(field).id", "required") }
        guard let user = map["user"] else { throw fail(node, "\(field).user", "required") }
        var sample = SampleSpec(id: try nonEmptyString(id, "\(field).id"), user: try nonEmptyString(user, "\(field).user"),
                                turns: defaultTurns)
        if let system = map["system"] { sample.system = try string(system, "\(field).system") }
        if let brief = map["interviewer_brief"] { sample.interviewerBrief = try string(brief, "\(field).interviewer_brief") }
        if let turnsNode = map["turns"] { sample.turns = try turns(turnsNode, "\(field).turns", pools: pools) }
        if let metadata = map["metadata"] {
            for (key, value) in try mapping(metadata, "\(field).metadata") {
                sample.metadata[try string(key, "\(field).metadata")] = try string(value, "\(field).metadata")
            }
        }
        return sample
    }

    /// JSON Lines: {"id": ..., "user": ..., "system"?: ..., "metadata"?: {...}}; the suite's
    /// default_turns follow each first message.
    func samplesFile(_ node: Node, defaultTurns: [TurnSpec]) throws -> [SampleSpec] {
        let path = try nonEmptyString(node, "samples_file")
        let text = try readFile(path, node: node, field: "samples_file")
        var samples: [SampleSpec] = []
        for (index, line) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let trimmed = line.trimmingCharacters(in: .whitespaces)
            guard !trimmed.isEmpty else { continue }
            let location = SuiteError(file: path, line: index + 1, field: "samples_file", message: "")
            guard let object = try? JSONSerialization.jsonObject(with: Data(trimmed.utf8)) as? [String: Any] else {
                throw SuiteError(file: location.file, line: location.line, field: "samples_file", message: "not a JSON object")
            }
            guard let user = object["user"] as? String, !user.isEmpty else {
                throw SuiteError(file: location.file, line: location.line, field: "user", message: "required (text)")
            }
            let id = (object["id"] as? String) ?? "line-\(index + 1)"
            let metadata = (object["metadata"] as? [String: Any])?.mapValues { "\($0)" } ?? [:]
            samples.append(SampleSpec(id: id, system: object["system"] as? String, user: user, turns: defaultTurns, metadata: metadata))
        }
        return samples
    }

    func scorer(_ node: Node, _ field: String) throws -> ScorerSpec {
        let map = try mapping(node, field)
        guard let typeNode = map["type"] else { throw fail(node, "\(field).type", "required") }
        let type = try nonEmptyString(typeNode, "\(field).type")
        guard let kind = registry.kind(type) else {
            throw fail(typeNode, "\(field).type", "unknown scorer type '\(type)' (known: \(registry.names.joined(separator: ", ")))")
        }
        try checkKeys(map, allowed: Set(ScorerRegistry.commonKeys + kind.options.map(\.key)), field)
        var spec = ScorerSpec(id: try map["id"].map { try nonEmptyString($0, "\(field).id") } ?? type, type: type)
        if let turns = map["turns"] {
            if let word = turns.scalar?.string, word == "all" || word == "last" {
                spec.turns = word == "all" ? .all : .last
            } else if turns.sequence != nil {
                spec.turns = .list(try sequence(turns, "\(field).turns").map { try int($0, "\(field).turns", range: 1...1000) })
            } else {
                throw fail(turns, "\(field).turns", "expected all, last or a list of turn numbers")
            }
        }
        if let when = map["when"] {
            for (key, value) in try mapping(when, "\(field).when") {
                spec.options["when." + (try nonEmptyString(key, "\(field).when"))] = try string(value, "\(field).when")
            }
        }
        for option in kind.options {
            guard let value = map[option.key] else {
                if option.required { throw fail(node, "\(field).\(option.key)", "a \(type) scorer needs a \(option.key) (\(option.help))") }
                continue
            }
            try readOption(option, value, into: &spec, "\(field).\(option.key)")
        }
        return spec
    }

    func readOption(_ option: ScorerOption, _ node: Node, into spec: inout ScorerSpec, _ field: String) throws {
        switch option.value {
        case .file:
            spec.options[option.key] = try readFile(try nonEmptyString(node, field), node: node, field: field)
        case .modelString, .text:
            spec.options[option.key] = try nonEmptyString(node, field)
        case .number:
            spec.options[option.key] = String(try double(node, field, range: -1e9...1e9))
        case .patterns:
            let patterns = try mapping(node, field)
            guard !patterns.isEmpty else { throw fail(node, field, "needs at least one pattern") }
            for (key, value) in patterns {
                let name = try nonEmptyString(key, field)
                let pattern = try nonEmptyString(value, "\(field).\(name)")
                guard (try? NSRegularExpression(pattern: pattern, options: [.caseInsensitive])) != nil else {
                    throw fail(value, "\(field).\(name)", "not a valid regular expression")
                }
                spec.options["pattern." + name] = pattern
            }
        }
    }
}

public enum BuiltInSuites {
    public static var names: [String] {
        let urls = (try? FileManager.default.contentsOfDirectory(at: folder, includingPropertiesForKeys: nil)) ?? []
        return urls.filter { $0.pathExtension == "yaml" }.map { $0.deletingPathExtension().lastPathComponent }.sorted()
    }

    static var folder: URL {
        Bundle.module.url(forResource: "Suites", withExtension: nil) ?? URL(fileURLWithPath: "/nonexistent")
    }

    /// The text of a data file shipped beside the built-in suites.
    public static func text(of file: String) -> String? {
        try? String(contentsOf: folder.appendingPathComponent(file), encoding: .utf8)
    }

    public static func url(named name: String) -> URL? {
        let url = folder.appendingPathComponent("\(name).yaml")
        return FileManager.default.fileExists(atPath: url.path) ? url : nil
    }
}
