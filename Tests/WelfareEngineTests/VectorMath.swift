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
}
