import Foundation

extension Statistics {
    /// Pearson's r; nan when either side is constant or there are fewer than two pairs.
    public static func pearson(_ x: [Double], _ y: [Double]) -> Double {
        guard x.count == y.count, x.count > 1 else { return .nan }
        let mx = x.reduce(0, +) / Double(x.count), my = y.reduce(0, +) / Double(y.count)
        let sxy = zip(x, y).reduce(0) { $0 + ($1.0 - mx) * ($1.1 - my) }
        let sxx = x.reduce(0) { $0 + ($1 - mx) * ($1 - mx) }, syy = y.reduce(0) { $0 + ($1 - my) * ($1 - my) }
        return sxx > 0 && syy > 0 ? sxy / (sxx * syy).squareRoot() : .nan
    }

    /// Spearman's rank correlation (ties get their mean rank).
    public static func spearman(_ x: [Double], _ y: [Double]) -> Double {
        pearson(ranks(x), ranks(y))
    }

    /// 1-based ranks, ties sharing their mean rank.
    public static func ranks(_ values: [Double]) -> [Double] {
        let order = values.indices.sorted { values[$0] < values[$1] }
        var ranks = [Double](repeating: 0, count: values.count)
        var start = 0
        while start < order.count {
            var end = start
            while end + 1 < order.count, values[order[end + 1]] == values[order[start]] { end += 1 }
            for k in start...end { ranks[order[k]] = Double(start + end) / 2 + 1 }
            start = end + 1
        }
        return ranks
    }

    /// A percentile of already sorted values (nearest rank); nan when there are none.
    public static func percentile(sorted values: [Double], _ fraction: Double) -> Double {
        guard !values.isEmpty else { return .nan }
        return values[min(values.count - 1, max(0, Int(Double(values.count) * fraction)))]
    }

    /// Pearson's r with a 95% interval from Fisher's z; the interval is nan below 4 pairs.
    public static func correlation(_ x: [Double], _ y: [Double]) -> Estimate {
        let r = pearson(x, y), n = min(x.count, y.count)
        guard r.isFinite, n > 3 else { return Estimate(n: n, value: r, low: .nan, high: .nan) }
        let z = atanh(max(-0.999999, min(0.999999, r))), half = 1.959964 / Double(n - 3).squareRoot()
        return Estimate(n: n, value: r, low: tanh(z - half), high: tanh(z + half))
    }

    /// Two-sided permutation p-value of Pearson's r: the share of `permutations` shuffles of y
    /// with |r| at least the observed one (counting the observed, so never 0).
    public static func permutationPValue(_ x: [Double], _ y: [Double], permutations: Int = 2000, seed: UInt64 = 1) -> Double {
        let observed = abs(pearson(x, y))
        guard observed.isFinite, x.count == y.count, x.count > 2 else { return .nan }
        var generator = SeededGenerator(seed: seed)
        var shuffled = y
        var atLeast = 0
        for _ in 0..<permutations {
            shuffled.shuffle(using: &generator)
            if abs(pearson(x, shuffled)) >= observed - 1e-12 { atLeast += 1 }
        }
        return Double(atLeast + 1) / Double(permutations + 1)
    }

    /// Which of many tests survive Benjamini-Hochberg control of the false-discovery rate at
    /// `q`; NaN p-values never do.
    public static func survivesFalseDiscoveryRate(_ pValues: [Double], q: Double = 0.05) -> [Bool] {
        let tested = pValues.indices.filter { pValues[$0].isFinite }.sorted { pValues[$0] < pValues[$1] }
        let m = Double(tested.count)
        var cutoff = -1
        for (rank, index) in tested.enumerated() where pValues[index] <= q * Double(rank + 1) / m { cutoff = rank }
        var survives = [Bool](repeating: false, count: pValues.count)
        if cutoff >= 0 { for index in tested[0...cutoff] { survives[index] = true } }
        return survives
    }
}
