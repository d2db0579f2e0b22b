import WelfareCore
@testable import WelfareEngine

/// Comparisons for activation vectors. Exact equality holds only when two runs decode in
/// the same chunks: llama.cpp's CPU kernels round differently for different batch shapes.
enum VectorMath {
    static func norm<C: Collection<Float>>(_ v: C) -> Float { v.reduce(0) { $0 + $1 * $1 }.squareRoot() }

    /// ||a - b|| / ||b||
    static func relativeError<A: Collection<Float>, B: Collection<Float>>(_ a: A, _ b: B) -> Float {
        norm(zip(a, b).map { $0 - $1 }) / max(norm(b), .leastNormalMagnitude)
    }

    static func maxAbsDifference<A: Collection<Float>, B: Collection<Float>>(_ a: A, _ b: B) -> Float {
        zip(a, b).map { abs($0 - $1) }.max() ?? .infinity
    }

    /// The worst relative error over every captured row of `a` against the same layer and
    /// position of `b` (infinite when `b` lacks a row `a` has).
    static func worstRelativeError(_ a: Activations, _ b: Activations) -> Float {
        var worst: Float = 0
        for layer in a.layers {
            for position in a.positions {
                guard let x = a.vector(layer: layer, position: position), let y = b.vector(layer: layer, position: position) else { return .infinity }
                worst = max(worst, relativeError(x, y))
            }
        }
        return worst
    }
}
