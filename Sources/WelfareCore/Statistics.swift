import Foundation

/// A mean or proportion with its sample size and 95% interval.
public struct Estimate: Codable, Sendable, Equatable {
    public var n: Int
    public var value: Double
    public var low: Double
    public var high: Double

    public init(n: Int, value: Double, low: Double, high: Double) {
        self.n = n
        self.value = value
        self.low = low
        self.high = high
    }

    public var formatted: String {
        n == 0 ? "n = 0" : String(format: "%.2f [%.2f, %.2f] (n = %d)", value, low, high, n)
    }

    /// A share as a percentage with its interval: "12.5% [8.1, 18.0] (n = 40)".
    public var formattedPercent: String {
        n == 0 ? "n = 0" : String(format: "%.1f%% [%.1f, %.1f] (n = %d)", value * 100, low * 100, high * 100, n)
    }
}

public enum Statistics {
    public static func mean(_ values: [Double]) -> Double {
        values.isEmpty ? .nan : values.reduce(0, +) / Double(values.count)
    }

    /// Percentile bootstrap of the mean, seeded so reports are reproducible.
    public static func bootstrapMean(_ values: [Double], resamples: Int = 2000, seed: UInt64 = 1) -> Estimate {
        guard !values.isEmpty else { return Estimate(n: 0, value: .nan, low: .nan, high: .nan) }
        let point = mean(values)
        guard values.count > 1 else { return Estimate(n: 1, value: point, low: point, high: point) }
        var generator = SeededGenerator(seed: seed)
        var means: [Double] = []
        means.reserveCapacity(resamples)
        for _ in 0..<resamples {
            var sum = 0.0
            for _ in 0..<values.count { sum += values[Int.random(in: 0..<values.count, using: &generator)] }
            means.append(sum / Double(values.count))
        }
        means.sort()
        return Estimate(n: values.count, value: point, low: means[Int(Double(resamples) * 0.025)],
                        high: means[min(resamples - 1, Int(Double(resamples) * 0.975))])
    }

    /// Wilson score interval for a proportion (sound at small n and at 0% or 100%).
    public static func wilson(successes: Int, n: Int) -> Estimate {
        guard n > 0 else { return Estimate(n: 0, value: .nan, low: .nan, high: .nan) }
        let z = 1.959964
        let p = Double(successes) / Double(n)
        let denominator = 1 + z * z / Double(n)
        let centre = (p + z * z / (2 * Double(n))) / denominator
        let half = z * ((p * (1 - p) / Double(n) + z * z / (4 * Double(n) * Double(n))).squareRoot()) / denominator
        return Estimate(n: n, value: p, low: max(0, centre - half), high: min(1, centre + half))
    }

    /// Difference of two means with a bootstrap interval (resampling each group).
    public static func bootstrapDifference(_ a: [Double], _ b: [Double], resamples: Int = 2000, seed: UInt64 = 1) -> Estimate {
        guard !a.isEmpty, !b.isEmpty else { return Estimate(n: a.count + b.count, value: .nan, low: .nan, high: .nan) }
        var generator = SeededGenerator(seed: seed)
        var differences: [Double] = []
        for _ in 0..<resamples {
            let ma = (0..<a.count).reduce(0.0) { sum, _ in sum + a[Int.random(in: 0..<a.count, using: &generator)] } / Double(a.count)
            let mb = (0..<b.count).reduce(0.0) { sum, _ in sum + b[Int.random(in: 0..<b.count, using: &generator)] } / Double(b.count)
            differences.append(ma - mb)
        }
        differences.sort()
        return Estimate(n: a.count + b.count, value: mean(a) - mean(b), low: differences[Int(Double(resamples) * 0.025)],
                        high: differences[min(resamples - 1, Int(Double(resamples) * 0.975))])
    }
}
