import Foundation

/// Log-probabilities of a whole logit vector, in Double: one implementation for every
/// readout that compares next-token probabilities (introspection, answer distributions).
public enum LogSoftmax {
    public static func of(_ logits: [Float]) -> [Double] {
        let maximum = Double(logits.max() ?? 0)
        let sum = logits.reduce(0.0) { $0 + exp(Double($1) - maximum) }
        let lse = maximum + log(sum)
        return logits.map { Double($0) - lse }
    }
}
