import Foundation
import Yams

/// Every YAML file the tool reads (suites aside, which are read node by node) goes through
/// here: a document whose aliases would expand past `maxNodes` values (a "billion laughs"
/// bomb of a few hundred bytes) is refused before anything is built from it.
public enum YAMLDocument {
    /// More values than any real battery, bank, lexicon or story set holds.
    public static let maxNodes = 1_000_000

    public struct TooLarge: Error, CustomStringConvertible, Sendable {
        public var description: String { "the YAML expands to more than \(YAMLDocument.maxNodes) values (aliases nested too deep)" }
    }

    /// The document as Swift values (`[String: Any]` or `[AnyHashable: Any]` for mappings,
    /// `[Any]` for sequences), nil for an empty one. Syntax errors are Yams's.
    public static func load(_ text: String) throws -> Any? {
        guard let node = try Yams.compose(yaml: text) else { return nil }
        var budget = maxNodes
        try count(node, budget: &budget)
        return Constructor.default.any(from: node)
    }

    /// Counts values as construction would visit them, stopping as soon as the budget is spent.
    static func count(_ node: Node, budget: inout Int) throws {
        budget -= 1
        if budget < 0 { throw TooLarge() }
        switch node {
        case .mapping(let mapping):
            for (key, value) in mapping {
                try count(key, budget: &budget)
                try count(value, budget: &budget)
            }
        case .sequence(let sequence):
            for item in sequence { try count(item, budget: &budget) }
        case .scalar, .alias:
            break
        }
    }
}
