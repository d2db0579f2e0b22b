import ArgumentParser
import WelfareCore
import WelfareEngine

/// A layer selection as written on the command line: "all", "6", "0,4,8" or "2-10". Its
/// syntax is checked when the command line is parsed; the layers themselves once the
/// model's layer count is known.
struct LayerSelection: ExpressibleByArgument, Equatable {
    enum Part: Equatable { case all, range(ClosedRange<Int>) }
    var parts: [Part]

    init(_ parts: [Part]) { self.parts = parts }
    static let all = LayerSelection([.all])
    static func single(_ layer: Int) -> LayerSelection { LayerSelection([.range(layer...layer)]) }

    init?(argument: String) {
        if argument == "all" {
            parts = [.all]
            return
        }
        var parts: [Part] = []
        for piece in argument.split(separator: ",", omittingEmptySubsequences: false) {
            let bounds = piece.split(separator: "-", omittingEmptySubsequences: false).map { Int($0.trimmingCharacters(in: .whitespaces)) }
            switch bounds.count {
            case 1: guard let single = bounds[0] else { return nil }; parts.append(.range(single...single))
            case 2: guard let low = bounds[0], let high = bounds[1], low <= high else { return nil }; parts.append(.range(low...high))
            default: return nil
            }
        }
        guard !parts.isEmpty else { return nil }
        self.parts = parts
    }

    /// The sorted, distinct layers, each checked against the model's layer count.
    func layers(count: Int) throws -> [Int] {
        var layers = Set<Int>()
        for part in parts {
            switch part {
            case .all: layers.formUnion(0..<count)
            case .range(let range): layers.formUnion(range)
            }
        }
        for layer in layers.sorted() where !(0..<count).contains(layer) {
            throw EngineError.layerOutOfRange(layer: layer, layerCount: count)
        }
        return layers.sorted()
    }

    var defaultValueDescription: String {
        parts.map { part in
            switch part {
            case .all: return "all"
            case .range(let range): return range.count == 1 ? "\(range.lowerBound)" : "\(range.lowerBound)-\(range.upperBound)"
            }
        }.joined(separator: ",")
    }
}

/// Comma-separated finite strengths such as "-0.5,0,0.5".
struct StrengthList: ExpressibleByArgument, Equatable {
    var values: [Float]

    init(_ values: [Float]) { self.values = values }

    init?(argument: String) {
        var values: [Float] = []
        for part in argument.split(separator: ",", omittingEmptySubsequences: false) {
            guard let value = Float(part.trimmingCharacters(in: .whitespaces)), value.isFinite else { return nil }
            values.append(value)
        }
        guard !values.isEmpty else { return nil }
        self.values = values
    }

    var defaultValueDescription: String { values.map { String($0) }.joined(separator: ",") }
}

/// A model string, its grammar checked when the command line is parsed (the same parser
/// and the same one-line error for every command). Whether a local file exists is checked
/// when the model is loaded.
struct ModelArgument: ExpressibleByArgument, Equatable, CustomStringConvertible {
    var text: String

    init(_ text: String) { self.text = text }

    init?(argument: String) {
        guard ModelSpec.grammarProblem(argument) == nil else { return nil }
        text = argument
    }

    var description: String { text }
    var defaultValueDescription: String { text }

    /// The GGUF file of a local model string; a remote one is refused as such.
    func localPath() throws -> String { try ModelSpec.localPath(text) }
}
