import Foundation
import WelfareCore
import WelfareModels

/// A key a scorer type accepts in a suite, and how the loader reads its value.
public struct ScorerOption: Sendable {
    public enum Value: Sendable {
        /// A path relative to the suite; the file's text is stored.
        case file
        /// A model string (checked when the run resolves it).
        case modelString
        /// A number.
        case number
        /// Text, stored as given.
        case text
        /// A mapping of names to case-insensitive regular expressions (`pattern.NAME` keys).
        case patterns
    }

    public var key: String
    public var value: Value
    public var required: Bool
    public var help: String

    public init(_ key: String, _ value: Value, required: Bool = false, help: String) {
        self.key = key
        self.value = value
        self.required = required
        self.help = help
    }
}

/// What a report shows first for a scorer: the mean, or the share of values at or above a
/// threshold (with a Wilson interval).
public enum ScorerMetric: Sendable, Equatable {
    case mean
    case shareAtLeast(Double)
}

/// What a scorer needs when it is built for a run.
public struct ScorerContext: Sendable {
    /// The run's `--judge`, used by judge scorers without their own `model`.
    public var judge: String?
    public var models: ModelPool

    public init(judge: String?, models: ModelPool) {
        self.judge = judge
        self.models = models
    }
}

/// One scorer type: its name in suites, the keys it accepts, its headline metric and how to
/// build it. `build` returns nil when the scorer cannot run in this context (a judge with
/// no model); the run reports it as skipped.
public struct ScorerKind: Sendable {
    public var name: String
    public var summary: String
    public var options: [ScorerOption]
    public var metric: @Sendable (ScorerSpec) -> ScorerMetric
    public var build: @Sendable (ScorerSpec, ScorerContext) async throws -> (any Scorer)?

    public init(name: String, summary: String, options: [ScorerOption] = [],
                metric: @escaping @Sendable (ScorerSpec) -> ScorerMetric = { _ in .mean },
                build: @escaping @Sendable (ScorerSpec, ScorerContext) async throws -> (any Scorer)?) {
        self.name = name
        self.summary = summary
        self.options = options
        self.metric = metric
        self.build = build
    }

    /// A threshold set in the suite, else the type's own, else none.
    public static func thresholdMetric(default fallback: Double?) -> @Sendable (ScorerSpec) -> ScorerMetric {
        { spec in
            guard let threshold = spec.options["threshold"].flatMap(Double.init) ?? fallback else { return .mean }
            return .shareAtLeast(threshold)
        }
    }
}

/// Every scorer type a suite may name. Adding a scorer is one file that defines the scorer
/// and its `kind`, plus one entry in `standard` (or `register` from outside the package);
/// the suite loader, the reports and docs/suite-format.md read the registry.
public struct ScorerRegistry: Sendable {
    public private(set) var kinds: [String: ScorerKind] = [:]

    /// Keys every scorer accepts.
    public static let commonKeys = ["id", "type", "turns", "when"]

    public init(_ kinds: [ScorerKind]) {
        for kind in kinds { register(kind) }
    }

    public mutating func register(_ kind: ScorerKind) { kinds[kind.name] = kind }

    public static let standard = ScorerRegistry([
        RepetitionScorer.kind, RoleScorer.kind, PatternScorer.kind, LexiconScorer.kind, DistressScorer.kind,
        ClosingRatingsScorer.kind, ChoiceScorer.kind, JudgeScorer.kind, EndConversationScorer.kind, LeaveQuestionScorer.kind,
    ])

    public var names: [String] { kinds.keys.sorted() }

    public func kind(_ name: String) -> ScorerKind? { kinds[name] }

    public func metric(of spec: ScorerSpec) -> ScorerMetric { kinds[spec.type]?.metric(spec) ?? .mean }

    /// Builds the scorers a suite names; those that cannot run here are listed in `skipped`.
    public func make(_ specs: [ScorerSpec], context: ScorerContext) async throws -> (scorers: [any Scorer], skipped: [String]) {
        var scorers: [any Scorer] = []
        var skipped: [String] = []
        for spec in specs {
            guard let kind = kinds[spec.type] else {
                throw SuiteError(file: "suite", line: nil, field: "scorers", message: "unknown scorer type '\(spec.type)' (known: \(names.joined(separator: ", ")))")
            }
            if let scorer = try await kind.build(spec, context) { scorers.append(scorer) } else { skipped.append(spec.id) }
        }
        return (scorers, skipped)
    }

    /// The table of scorer types in docs/suite-format.md; a test keeps the two the same.
    public func markdownTable() -> String {
        var lines = ["| type | what it gives | keys (besides \(Self.commonKeys.joined(separator: ", "))) | headline |",
                     "|---|---|---|---|"]
        for name in names {
            guard let kind = kinds[name] else { continue }
            let keys = kind.options.map { "`\($0.key)`\($0.required ? " (required)" : ""): \($0.help)" }.joined(separator: "; ")
            let headline: String
            switch kind.metric(ScorerSpec(id: name, type: name)) {
            case .mean: headline = kind.options.contains { $0.key == "threshold" } ? "mean; share >= `threshold` if set" : "mean"
            case .shareAtLeast(let value): headline = "share >= \(Self.number(value)) (or `threshold`)"
            }
            lines.append("| `\(name)` | \(kind.summary) | \(keys.isEmpty ? "-" : keys) | \(headline) |")
        }
        return lines.joined(separator: "\n")
    }

    public static func number(_ value: Double) -> String { value == value.rounded() ? String(Int(value)) : String(value) }
}

extension ScorerOption {
    static let threshold = ScorerOption("threshold", .number, help: "report the share of values at or above it")
    static let model = ScorerOption("model", .modelString, help: "the judge model (else `--judge`; with neither, skipped)")
}
