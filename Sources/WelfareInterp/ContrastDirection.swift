import Foundation
import WelfareCore
import WelfareEngine

/// A direction that separates two kinds of text in the residual stream (sincere from performed
/// statements; the model as itself from role-played characters): at each layer, the mean
/// activation of the first kind minus that of the second, fitted on training items only. The
/// layer is the one where the training items separate best (largest d'), and the direction is
/// then judged on held-out items it never saw: a projection above the midpoint of the two
/// training means reads as the first kind.
public struct ContrastDirection: Sendable {
    public struct Fit: Codable, Sendable {
        public var layer: Int
        /// d' of the training projections at each layer (0 for the embedding layer).
        public var trainingSeparation: [Double]
        /// Mean projections of the training items of each kind at `layer`.
        public var firstMean: Double
        public var secondMean: Double
        public var threshold: Double { (firstMean + secondMean) / 2 }
        public var trainingAccuracy: Estimate
        public var heldOutAccuracy: Estimate
    }

    /// [layer][width], unit length at each layer.
    public var directions: [[Float]]
    public var fit: Fit

    public func projection(_ activation: [Float], layer: Int? = nil) -> Double {
        Double(LinearAlgebra.dot(activation, directions[layer ?? fit.layer]))
    }

    /// Where an activation falls between the two kinds at the fit's layer: 1 at the first
    /// kind's training mean, 0 at the second's.
    public func position(_ activation: [Float]) -> Double {
        let span = fit.firstMean - fit.secondMean
        return span == 0 ? .nan : (projection(activation) - fit.secondMean) / span
    }

    /// `first` and `second` are per item, per layer mean activations (as `EmotionVectors.means`
    /// gives them); `heldOut` says which items of each kind are held out.
    public static func fit(first: [[[Float]]], second: [[[Float]]], firstHeldOut: (Int) -> Bool, secondHeldOut: (Int) -> Bool) throws -> ContrastDirection {
        let trainFirst = first.indices.filter { !firstHeldOut($0) }.map { first[$0] }
        let trainSecond = second.indices.filter { !secondHeldOut($0) }.map { second[$0] }
        let testFirst = first.indices.filter(firstHeldOut).map { first[$0] }
        let testSecond = second.indices.filter(secondHeldOut).map { second[$0] }
        guard trainFirst.count >= 2, trainSecond.count >= 2, !testFirst.isEmpty, !testSecond.isEmpty,
              let layers = first.first?.count, layers >= 2 else {
            throw EngineError.invalidParameter("a contrast direction needs at least 2 training and 1 held-out item of each kind")
        }
        var directions: [[Float]] = []
        var separation: [Double] = []
        for layer in 0..<layers {
            let difference = LinearAlgebra.subtract(LinearAlgebra.mean(trainFirst.map { $0[layer] }), LinearAlgebra.mean(trainSecond.map { $0[layer] }))
            let length = LinearAlgebra.norm(difference)
            let unit = length > 0 ? difference.map { $0 / length } : difference
            directions.append(unit)
            let a = trainFirst.map { Double(LinearAlgebra.dot($0[layer], unit)) }, b = trainSecond.map { Double(LinearAlgebra.dot($0[layer], unit)) }
            let pooled = ((variance(a) + variance(b)) / 2).squareRoot()
            separation.append(layer == 0 || pooled == 0 ? 0 : (Statistics.mean(a) - Statistics.mean(b)) / pooled)
        }
        let layer = separation.indices.max { separation[$0] < separation[$1] } ?? layers / 2
        func projections(_ items: [[[Float]]]) -> [Double] { items.map { Double(LinearAlgebra.dot($0[layer], directions[layer])) } }
        let firstMean = Statistics.mean(projections(trainFirst)), secondMean = Statistics.mean(projections(trainSecond))
        let threshold = (firstMean + secondMean) / 2
        func accuracy(_ a: [[[Float]]], _ b: [[[Float]]]) -> Estimate {
            let right = projections(a).filter { $0 > threshold }.count + projections(b).filter { $0 <= threshold }.count
            return Statistics.wilson(successes: right, n: a.count + b.count)
        }
        return ContrastDirection(directions: directions,
                                 fit: Fit(layer: layer, trainingSeparation: separation, firstMean: firstMean, secondMean: secondMean,
                                          trainingAccuracy: accuracy(trainFirst, trainSecond), heldOutAccuracy: accuracy(testFirst, testSecond)))
    }

    static func variance(_ values: [Double]) -> Double {
        guard values.count > 1 else { return 0 }
        let mean = Statistics.mean(values)
        return values.reduce(0) { $0 + ($1 - mean) * ($1 - mean) } / Double(values.count - 1)
    }

    /// As a vector pack (one name), so `welfare emotions export` writes it as a llama.cpp
    /// control vector and the fit travels with it.
    public func pack(kind: String, name: String, model: LlamaModel, residualNorms: [Float], settings: [String: String]) throws -> VectorPack {
        var all = settings
        all["default_layer"] = String(fit.layer)
        all["first_mean"] = String(fit.firstMean)
        all["second_mean"] = String(fit.secondMean)
        all["heldout_accuracy"] = String(format: "%.4f", fit.heldOutAccuracy.value)
        all["heldout_n"] = String(fit.heldOutAccuracy.n)
        return try VectorPack(kind: kind, model: model, names: [name], residualNorms: residualNorms, settings: all,
                              values: directions.flatMap { $0 })
    }
}
