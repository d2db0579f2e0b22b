import Foundation

/// A linear classifier with a logistic link, fitted with an L2 penalty on the weights (not the
/// bias). Deterministic: the same rows give the same weights, so shipped weights can be checked
/// against a refit.
public struct LogisticRegression: Codable, Sendable, Equatable {
    public var features: [String]
    public var weights: [Double]
    public var bias: Double

    public init(features: [String], weights: [Double], bias: Double) {
        self.features = features
        self.weights = weights
        self.bias = bias
    }

    public func probability(_ row: [Double]) -> Double {
        Self.sigmoid(zip(weights, row).reduce(bias) { $0 + $1.0 * $1.1 })
    }

    /// Each feature's share of the log-odds for one row, by name.
    public func contributions(_ row: [Double]) -> [String: Double] {
        Dictionary(uniqueKeysWithValues: zip(features, zip(weights, row).map { $0 * $1 }))
    }

    public static func sigmoid(_ z: Double) -> Double { 1 / (1 + exp(-z)) }

    /// The penalised maximum-likelihood fit, by Newton steps (exact in a few dozen).
    public static func fit(features: [String], rows: [[Double]], labels: [Bool], l2: Double) -> LogisticRegression {
        let width = features.count + 1   // the weights, then the bias
        var theta = Array(repeating: 0.0, count: width)
        guard !rows.isEmpty else { return LogisticRegression(features: features, weights: Array(theta.dropLast()), bias: 0) }
        let n = Double(rows.count)
        let padded = rows.map { $0 + [1] }
        for _ in 0..<100 {
            var gradient = (0..<width).map { $0 < width - 1 ? l2 * theta[$0] : 0 }
            var hessian = (0..<width).map { row in (0..<width).map { row == $0 ? (row < width - 1 ? l2 : 1e-9) : 0 } }
            for (x, label) in zip(padded, labels) {
                let p = sigmoid(zip(theta, x).reduce(0) { $0 + $1.0 * $1.1 })
                let error = (p - (label ? 1 : 0)) / n, curvature = p * (1 - p) / n
                for i in 0..<width {
                    gradient[i] += error * x[i]
                    for j in 0..<width { hessian[i][j] += curvature * x[i] * x[j] }
                }
            }
            guard let step = solve(hessian, gradient) else { break }
            for i in 0..<width { theta[i] -= step[i] }
            if step.map(abs).max() ?? 0 < 1e-12 { break }
        }
        return LogisticRegression(features: features, weights: Array(theta.dropLast()), bias: theta[width - 1])
    }

    /// The penalty with the best mean ROC AUC over `folds` folds of the rows (by position), then
    /// the fit on all rows with it: the choice sees only the rows given.
    public static func fitChoosingPenalty(features: [String], rows: [[Double]], labels: [Bool],
                                          penalties: [Double] = [0.001, 0.003, 0.01, 0.03, 0.1, 0.3], folds: Int = 5)
        -> (model: LogisticRegression, l2: Double, foldAUC: [Double: Double]) {
        var foldAUC: [Double: Double] = [:]
        for l2 in penalties {
            var aucs: [Double] = []
            for fold in 0..<folds {
                let train = rows.indices.filter { $0 % folds != fold }, test = rows.indices.filter { $0 % folds == fold }
                let model = fit(features: features, rows: train.map { rows[$0] }, labels: train.map { labels[$0] }, l2: l2)
                let scored = test.map { (model.probability(rows[$0]), labels[$0]) }
                let auc = Statistics.rocAUC(positives: scored.filter(\.1).map(\.0), negatives: scored.filter { !$0.1 }.map(\.0)).value
                if !auc.isNaN { aucs.append(auc) }
            }
            foldAUC[l2] = Statistics.mean(aucs)
        }
        // Ties go to the larger penalty, the simpler model.
        let best = penalties.reversed().max { (foldAUC[$0] ?? 0) < (foldAUC[$1] ?? 0) } ?? penalties[0]
        return (fit(features: features, rows: rows, labels: labels, l2: best), best, foldAUC)
    }

    /// Gaussian elimination with partial pivoting; nil when the matrix is singular.
    static func solve(_ matrix: [[Double]], _ vector: [Double]) -> [Double]? {
        var a = matrix, b = vector
        let n = b.count
        for column in 0..<n {
            guard let pivot = (column..<n).max(by: { abs(a[$0][column]) < abs(a[$1][column]) }), abs(a[pivot][column]) > 1e-15 else { return nil }
            a.swapAt(column, pivot); b.swapAt(column, pivot)
            for row in (column + 1)..<n {
                let factor = a[row][column] / a[column][column]
                for k in column..<n { a[row][k] -= factor * a[column][k] }
                b[row] -= factor * b[column]
            }
        }
        var x = Array(repeating: 0.0, count: n)
        for row in stride(from: n - 1, through: 0, by: -1) {
            x[row] = (b[row] - ((row + 1)..<n).reduce(0) { $0 + a[row][$1] * x[$1] }) / a[row][row]
        }
        return x
    }
}

extension Statistics {
    /// Area under the ROC curve (the chance that a positive outscores a negative, ties half),
    /// with the Hanley-McNeil 95% interval.
    public static func rocAUC(positives: [Double], negatives: [Double]) -> Estimate {
        let n = positives.count + negatives.count
        guard !positives.isEmpty, !negatives.isEmpty else { return Estimate(n: n, value: .nan, low: .nan, high: .nan) }
        var wins = 0.0
        for positive in positives {
            for negative in negatives {
                wins += positive > negative ? 1 : (positive == negative ? 0.5 : 0)
            }
        }
        let auc = wins / Double(positives.count * negatives.count)
        let q1 = auc / (2 - auc), q2 = 2 * auc * auc / (1 + auc)
        let np = Double(positives.count), nn = Double(negatives.count)
        let variance = (auc * (1 - auc) + (np - 1) * (q1 - auc * auc) + (nn - 1) * (q2 - auc * auc)) / (np * nn)
        let half = 1.96 * max(variance, 0).squareRoot()
        return Estimate(n: n, value: auc, low: max(0, auc - half), high: min(1, auc + half))
    }
}
