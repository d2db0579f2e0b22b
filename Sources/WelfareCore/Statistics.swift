import Foundation

/// A mean or proportion with its sample size, its 95% interval and how that interval was made.
/// Below `minimumForInterval` independent units there is no interval (low and high are NaN,
/// written as null): an interval from two or three points says more than the data do.
public struct Estimate: Codable, Sendable, Equatable {
    public var n: Int
    public var value: Double
    public var low: Double
    public var high: Double
    /// How the interval was computed ("wilson", "bootstrap", "conversation-bootstrap"...).
    public var ciMethod: String?
    /// Conversations the values came from, when several values share one.
    public var clusters: Int?

    public static let minimumForInterval = 5

    public init(n: Int, value: Double, low: Double, high: Double, ciMethod: String? = nil, clusters: Int? = nil) {
        self.n = n
        self.value = value
        self.low = low
        self.high = high
        self.ciMethod = ciMethod
        self.clusters = clusters
    }

    /// A point value whose interval is withheld because there are too few independent units.
    public static func withoutInterval(n: Int, value: Double, ciMethod: String?, clusters: Int? = nil) -> Estimate {
        Estimate(n: n, value: value, low: .nan, high: .nan, ciMethod: ciMethod, clusters: clusters)
    }

    public var hasInterval: Bool { low.isFinite && high.isFinite && low <= high }

    /// The interval as a range, for charts; nil when there is none.
    public var interval: ClosedRange<Double>? { hasInterval ? low...high : nil }

    /// The same figure multiplied by `factor` (a share as a percentage).
    public func scaled(by factor: Double) -> Estimate {
        var copy = self
        copy.value *= factor; copy.low *= factor; copy.high *= factor
        return copy
    }

    private var sizeText: String {
        clusters.map { "n = \(n) in \($0) conversations" } ?? "n = \(n)"
    }

    public var formatted: String {
        if n == 0 { return "n = 0" }
        if !hasInterval { return value.isFinite ? String(format: "%.2f, too few for an interval (%@)", value, sizeText) : "- (\(sizeText))" }
        return String(format: "%.2f [%.2f, %.2f] (%@)", value, low, high, sizeText)
    }

    /// A share as a percentage with its interval: "12.5% [8.1, 18.0] (n = 40)".
    public var formattedPercent: String {
        if n == 0 { return "n = 0" }
        if !hasInterval { return value.isFinite ? String(format: "%.1f%%, too few for an interval (%@)", value * 100, sizeText) : "- (\(sizeText))" }
        return String(format: "%.1f%% [%.1f, %.1f] (%@)", value * 100, low * 100, high * 100, sizeText)
    }

    /// "value [low, high]" with `format` for each number (after `scale`), or "value (too few)".
    public func bracketed(_ format: String = "%.2f", scale: Double = 1, unit: String = "") -> String {
        let number = { (x: Double) in String(format: format, x * scale) }
        guard value.isFinite else { return "-" }
        guard hasInterval else { return number(value) + unit + " (too few)" }
        return number(value) + unit + " [" + number(low) + unit + ", " + number(high) + unit + "]"
    }

    enum CodingKeys: String, CodingKey { case n, value, low, high, ciMethod, clusters }

    public init(from decoder: Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        n = try container.decode(Int.self, forKey: .n)
        value = try container.decode(Double.self, forKey: .value)
        low = try container.decodeIfPresent(Double.self, forKey: .low) ?? .nan
        high = try container.decodeIfPresent(Double.self, forKey: .high) ?? .nan
        ciMethod = try container.decodeIfPresent(String.self, forKey: .ciMethod)
        clusters = try container.decodeIfPresent(Int.self, forKey: .clusters)
    }

    /// Writes a missing interval as null rather than "nan", so other tools read "no interval".
    public func encode(to encoder: Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(n, forKey: .n)
        try container.encode(value, forKey: .value)
        if hasInterval {
            try container.encode(low, forKey: .low)
            try container.encode(high, forKey: .high)
        } else {
            try container.encodeNil(forKey: .low)
            try container.encodeNil(forKey: .high)
        }
        try container.encodeIfPresent(ciMethod, forKey: .ciMethod)
        try container.encodeIfPresent(clusters, forKey: .clusters)
    }
}

public enum Statistics {
    public static func mean(_ values: [Double]) -> Double {
        values.isEmpty ? .nan : values.reduce(0, +) / Double(values.count)
    }

    /// Percentile bootstrap of the mean, seeded so reports are reproducible; `confidence` other
    /// than 0.95 widens it (for a Bonferroni correction).
    public static func bootstrapMean(_ values: [Double], resamples: Int = 2000, seed: UInt64 = 1, confidence: Double = 0.95) -> Estimate {
        guard !values.isEmpty else { return Estimate(n: 0, value: .nan, low: .nan, high: .nan) }
        let point = mean(values)
        guard values.count >= Estimate.minimumForInterval else { return .withoutInterval(n: values.count, value: point, ciMethod: "bootstrap") }
        var generator = SeededGenerator(seed: seed)
        var means: [Double] = []
        means.reserveCapacity(resamples)
        for _ in 0..<resamples {
            var sum = 0.0
            for _ in 0..<values.count { sum += values[Int.random(in: 0..<values.count, using: &generator)] }
            means.append(sum / Double(values.count))
        }
        means.sort()
        let tail = (1 - confidence) / 2
        return Estimate(n: values.count, value: point, low: percentile(sorted: means, tail),
                        high: percentile(sorted: means, 1 - tail), ciMethod: confidence == 0.95 ? "bootstrap" : "bootstrap-bonferroni")
    }

    /// Wilson score interval for a proportion (sound at small n and at 0% or 100%).
    public static func wilson(successes: Int, n: Int) -> Estimate {
        guard n > 0 else { return Estimate(n: 0, value: .nan, low: .nan, high: .nan) }
        let p = Double(successes) / Double(n)
        guard n >= Estimate.minimumForInterval else { return .withoutInterval(n: n, value: p, ciMethod: "wilson") }
        let (low, high) = wilsonBounds(p: p, effectiveN: Double(n))
        return Estimate(n: n, value: p, low: low, high: high, ciMethod: "wilson")
    }

    static func wilsonBounds(p: Double, effectiveN n: Double, z: Double = 1.959964) -> (Double, Double) {
        let denominator = 1 + z * z / n
        let centre = (p + z * z / (2 * n)) / denominator
        let half = z * ((p * (1 - p) / n + z * z / (4 * n * n)).squareRoot()) / denominator
        return (max(0, centre - half), min(1, centre + half))
    }

    /// The mean over every value, with an interval that resamples whole clusters (the replies of
    /// one conversation are not independent draws). n counts values; the interval needs at
    /// least `Estimate.minimumForInterval` clusters.
    public static func clusterBootstrapMean(_ clusters: [[Double]], resamples: Int = 2000, seed: UInt64 = 1) -> Estimate {
        let clusters = clusters.filter { !$0.isEmpty }
        let sums = clusters.map { $0.reduce(0, +) }, sizes = clusters.map { Double($0.count) }
        let n = clusters.reduce(0) { $0 + $1.count }
        guard n > 0 else { return Estimate(n: 0, value: .nan, low: .nan, high: .nan, ciMethod: "conversation-bootstrap", clusters: 0) }
        let point = sums.reduce(0, +) / Double(n)
        guard clusters.count >= Estimate.minimumForInterval else {
            return .withoutInterval(n: n, value: point, ciMethod: "conversation-bootstrap", clusters: clusters.count)
        }
        var generator = SeededGenerator(seed: seed)
        var means: [Double] = []
        means.reserveCapacity(resamples)
        for _ in 0..<resamples {
            var sum = 0.0, size = 0.0
            for _ in 0..<clusters.count {
                let pick = Int.random(in: 0..<clusters.count, using: &generator)
                sum += sums[pick]; size += sizes[pick]
            }
            means.append(sum / size)
        }
        means.sort()
        return Estimate(n: n, value: point, low: percentile(sorted: means, 0.025), high: percentile(sorted: means, 0.975),
                        ciMethod: "conversation-bootstrap", clusters: clusters.count)
    }

    /// A share of values that fall in several clusters: Wilson's interval at the effective sample
    /// size n / design effect, the design effect from the cluster-robust variance of the share.
    /// A percentile bootstrap would give [0, 0] whenever no reply qualifies; this never does.
    /// When the share is 0 or 1 the variance says nothing, so each cluster counts as one unit.
    public static func clusteredShare(_ clusters: [[Bool]]) -> Estimate {
        let clusters = clusters.filter { !$0.isEmpty }
        let n = clusters.reduce(0) { $0 + $1.count }
        let method = "wilson-design-effect"
        guard n > 0 else { return Estimate(n: 0, value: .nan, low: .nan, high: .nan, ciMethod: method, clusters: 0) }
        let successes = clusters.map { Double($0.filter { $0 }.count) }
        let p = successes.reduce(0, +) / Double(n)
        guard clusters.count >= Estimate.minimumForInterval else {
            return .withoutInterval(n: n, value: p, ciMethod: method, clusters: clusters.count)
        }
        let k = Double(clusters.count)
        let robust = k / (k - 1) * zip(successes, clusters).reduce(0.0) { sum, pair in
            let residual = pair.0 - p * Double(pair.1.count)
            return sum + residual * residual
        } / (Double(n) * Double(n))
        let binomial = p * (1 - p) / Double(n)
        let effectiveN = binomial > 0 ? Double(n) / max(1, robust / binomial) : k
        let (low, high) = wilsonBounds(p: p, effectiveN: effectiveN)
        return Estimate(n: n, value: p, low: low, high: high, ciMethod: method, clusters: clusters.count)
    }

    /// The standard normal quantile (bisection on erfc; exact to about 1e-9).
    public static func normalQuantile(_ p: Double) -> Double {
        guard p > 0, p < 1 else { return p <= 0 ? -.infinity : .infinity }
        var low = -40.0, high = 40.0
        for _ in 0..<200 {
            let middle = (low + high) / 2
            if 0.5 * erfc(-middle / 2.squareRoot()) < p { low = middle } else { high = middle }
        }
        return (low + high) / 2
    }

    /// The difference of two independent proportions, a - b, with Newcombe's hybrid score
    /// interval (built from each side's Wilson interval). `comparisons` widens it by Bonferroni
    /// when this difference was picked as the best of several.
    public static func proportionDifference(successesA: Int, nA: Int, successesB: Int, nB: Int, comparisons: Int = 1) -> Estimate {
        let method = comparisons > 1 ? "newcombe-bonferroni-\(comparisons)" : "newcombe"
        guard nA > 0, nB > 0 else { return Estimate(n: nA + nB, value: .nan, low: .nan, high: .nan, ciMethod: method) }
        let pA = Double(successesA) / Double(nA), pB = Double(successesB) / Double(nB)
        guard min(nA, nB) >= Estimate.minimumForInterval else { return .withoutInterval(n: nA + nB, value: pA - pB, ciMethod: method) }
        let z = normalQuantile(1 - 0.025 / Double(max(1, comparisons)))
        let (lowA, highA) = wilsonBounds(p: pA, effectiveN: Double(nA), z: z)
        let (lowB, highB) = wilsonBounds(p: pB, effectiveN: Double(nB), z: z)
        let difference = pA - pB
        let low = difference - ((pA - lowA) * (pA - lowA) + (highB - pB) * (highB - pB)).squareRoot()
        let high = difference + ((highA - pA) * (highA - pA) + (pB - lowB) * (pB - lowB)).squareRoot()
        return Estimate(n: nA + nB, value: difference, low: low, high: high, ciMethod: method)
    }

    /// The smallest rate that `units` independent units can tell from zero: the upper end of
    /// the 95% Wilson interval when none of them shows it (one unit: 79%; five: 43%; fifty: 7%).
    public static func minimumDetectableRate(units: Int) -> Double? {
        guard units > 0 else { return nil }
        return wilsonBounds(p: 0, effectiveN: Double(units)).1
    }
}
