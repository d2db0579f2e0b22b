import Foundation

/// One comparison of two items: `firstWins` is 1 when the first was chosen, 0 when the
/// second was, and may lie between (a choice read as a probability counts as that share of
/// a win).
public struct PairedComparison: Sendable, Equatable {
    public var first: Int
    public var second: Int
    public var firstWins: Double

    public init(first: Int, second: Int, firstWins: Double) {
        self.first = first
        self.second = second
        self.firstWins = firstWins
    }
}

/// The Bradley-Terry model, P(i beats j) = s_i / (s_i + s_j), fitted by maximum likelihood
/// with the minorisation-maximisation updates of Hunter (2004). Ratings are log-strengths
/// centred on their mean. Each item also plays `prior` wins and `prior` losses against a
/// phantom of rating 0, so an item that won (or lost) every game keeps a finite rating; with
/// the default of half a game this shrinks ratings a little towards 0 and nothing else.
public enum BradleyTerry {
    /// Ratings and, when fitted, the order term.
    public struct Fit: Sendable {
        public var ratings: [Double]
        /// Log-odds added to whichever item was shown first: P(first wins) =
        /// θ s_i / (θ s_i + s_j) with θ = exp(orderEffect). 0 when not fitted.
        public var orderEffect: Double
    }

    public static func fit(itemCount: Int, comparisons: [PairedComparison], prior: Double = 0.5,
                           maxIterations: Int = 2000, tolerance: Double = 1e-8) -> [Double] {
        fit(itemCount: itemCount, comparisons: comparisons, orderTerm: false, prior: prior, maxIterations: maxIterations,
            tolerance: tolerance).ratings
    }

    /// With `orderTerm`, the position of the items is a term of the model (Hunter's home-field
    /// advantage), so a model that prefers whatever comes first does not move the ratings of
    /// items that happened to be shown first more often.
    public static func fit(itemCount: Int, comparisons: [PairedComparison], orderTerm: Bool, prior: Double = 0.5,
                           maxIterations: Int = 2000, tolerance: Double = 1e-8) -> Fit {
        guard itemCount > 0 else { return Fit(ratings: [], orderEffect: 0) }
        var wins = [Double](repeating: prior, count: itemCount)
        for game in comparisons {
            wins[game.first] += game.firstWins
            wins[game.second] += 1 - game.firstWins
        }
        let firstWins = comparisons.reduce(0) { $0 + $1.firstWins }
        var strength = [Double](repeating: 1, count: itemCount)
        var theta = 1.0
        for _ in 0..<maxIterations {
            var denominator = [Double](repeating: 0, count: itemCount)
            for index in 0..<itemCount { denominator[index] = 2 * prior / (strength[index] + 1) }
            var thetaDenominator = 0.0
            for game in comparisons {
                let total = theta * strength[game.first] + strength[game.second]
                denominator[game.first] += theta / total
                denominator[game.second] += 1 / total
                thetaDenominator += strength[game.first] / total
            }
            var largestChange = 0.0
            for index in 0..<itemCount where denominator[index] > 0 {
                let updated = wins[index] / denominator[index]
                largestChange = max(largestChange, abs(log(updated) - log(strength[index])))
                strength[index] = updated
            }
            if orderTerm, thetaDenominator > 0 {
                // One phantom game between equals, half won by the first shown, keeps θ finite
                // when one position won every time.
                let updated = (firstWins + 0.5) / (thetaDenominator + 1 / (theta + 1))
                largestChange = max(largestChange, abs(log(updated) - log(theta)))
                theta = updated
            }
            if largestChange < tolerance { break }
        }
        let ratings = strength.map { log($0) }
        let centre = ratings.reduce(0, +) / Double(itemCount)
        return Fit(ratings: ratings.map { $0 - centre }, orderEffect: log(theta))
    }

    /// Ratings refitted on comparisons drawn with replacement, one array per resample: the
    /// percentile intervals of any figure computed from the ratings come from these.
    public static func bootstrap(itemCount: Int, comparisons: [PairedComparison], resamples: Int = 200, seed: UInt64 = 1,
                                 prior: Double = 0.5) -> [[Double]] {
        bootstrap(itemCount: itemCount, comparisons: comparisons, orderTerm: false, resamples: resamples, seed: seed, prior: prior).map(\.ratings)
    }

    public static func bootstrap(itemCount: Int, comparisons: [PairedComparison], orderTerm: Bool, resamples: Int = 200, seed: UInt64 = 1,
                                 prior: Double = 0.5) -> [Fit] {
        guard !comparisons.isEmpty else { return [] }
        var generator = SeededGenerator(seed: seed)
        return (0..<resamples).map { _ in
            let drawn = (0..<comparisons.count).map { _ in comparisons[Int.random(in: 0..<comparisons.count, using: &generator)] }
            return fit(itemCount: itemCount, comparisons: drawn, orderTerm: orderTerm, prior: prior, maxIterations: 300, tolerance: 1e-6)
        }
    }

    /// A rating on the Elo scale (400 points = ten-to-one odds), centred on 1000, for display.
    public static func elo(_ rating: Double) -> Double { 1000 + rating * 400 / log(10) }
}
