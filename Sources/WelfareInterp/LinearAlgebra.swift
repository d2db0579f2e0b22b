import Foundation

/// The few vector operations the interpretability code needs, on plain [Float] / [Double].
public enum LinearAlgebra {
    public static func dot(_ a: [Float], _ b: [Float]) -> Float {
        // Pointer loop: these run millions of times in validation, also in debug builds.
        a.withUnsafeBufferPointer { x in
            b.withUnsafeBufferPointer { y in
                var sum: Float = 0
                for i in 0..<min(x.count, y.count) { sum += x[i] * y[i] }
                return sum
            }
        }
    }
    public static func norm(_ a: [Float]) -> Float { dot(a, a).squareRoot() }

    public static func cosine(_ a: [Float], _ b: [Float]) -> Float {
        let denominator = norm(a) * norm(b)
        return denominator > 0 ? dot(a, b) / denominator : 0
    }

    public static func mean(_ vectors: [[Float]]) -> [Float] {
        guard let first = vectors.first else { return [] }
        var sum = [Float](repeating: 0, count: first.count)
        for vector in vectors { for i in sum.indices { sum[i] += vector[i] } }
        return sum.map { $0 / Float(vectors.count) }
    }

    public static func subtract(_ a: [Float], _ b: [Float]) -> [Float] {
        var result = a
        for i in 0..<min(a.count, b.count) { result[i] -= b[i] }
        return result
    }

    /// Eigen-decomposition of a symmetric matrix by cyclic Jacobi rotations: eigenvalues in
    /// descending order with their eigenvectors (as columns, returned as rows here).
    public static func symmetricEigen(_ matrix: [[Double]], sweeps: Int = 60) -> (values: [Double], vectors: [[Double]]) {
        let n = matrix.count
        var a = matrix
        var v = (0..<n).map { i in (0..<n).map { $0 == i ? 1.0 : 0.0 } }
        for _ in 0..<sweeps {
            var off = 0.0
            for p in 0..<n { for q in (p + 1)..<max(p + 1, n) { off += a[p][q] * a[p][q] } }
            if off < 1e-18 { break }
            for p in 0..<n {
                for q in (p + 1)..<max(p + 1, n) where abs(a[p][q]) > 1e-300 {
                    let theta = (a[q][q] - a[p][p]) / (2 * a[p][q])
                    let t = (theta >= 0 ? 1.0 : -1.0) / (abs(theta) + (theta * theta + 1).squareRoot())
                    let c = 1 / (t * t + 1).squareRoot(), s = t * c
                    for k in 0..<n {
                        let akp = a[k][p], akq = a[k][q]
                        a[k][p] = c * akp - s * akq
                        a[k][q] = s * akp + c * akq
                    }
                    for k in 0..<n {
                        let apk = a[p][k], aqk = a[q][k]
                        a[p][k] = c * apk - s * aqk
                        a[q][k] = s * apk + c * aqk
                    }
                    for k in 0..<n {
                        let vkp = v[k][p], vkq = v[k][q]
                        v[k][p] = c * vkp - s * vkq
                        v[k][q] = s * vkp + c * vkq
                    }
                }
            }
        }
        let order = (0..<n).sorted { a[$0][$0] > a[$1][$1] }
        return (order.map { a[$0][$0] }, order.map { column in (0..<n).map { v[$0][column] } })
    }

    /// Principal directions of rows (centred), via the small Gram matrix: directions in the
    /// row space, unit length, with the share of variance each explains.
    public static func principalComponents(_ rows: [[Float]]) -> [(direction: [Float], share: Double)] {
        guard rows.count >= 2, let width = rows.first?.count else { return [] }
        let centre = mean(rows)
        let centred = rows.map { subtract($0, centre) }
        let gram = centred.map { a in centred.map { b in Double(dot(a, b)) } }
        let (values, vectors) = symmetricEigen(gram)
        let total = values.filter { $0 > 0 }.reduce(0, +)
        guard total > 0 else { return [] }
        return zip(values, vectors).compactMap { value, coefficients -> ([Float], Double)? in
            guard value > total * 1e-9 else { return nil }
            var direction = [Float](repeating: 0, count: width)
            for (row, weight) in zip(centred, coefficients) { for i in 0..<width { direction[i] += row[i] * Float(weight) } }
            let length = norm(direction)
            guard length > 0 else { return nil }
            return (direction.map { $0 / length }, value / total)
        }
    }

    /// Removes the components of `vector` along orthonormal `directions`.
    public static func projectOut(_ vector: [Float], _ directions: [[Float]]) -> [Float] {
        var result = vector
        for direction in directions {
            let amount = dot(result, direction)
            for i in result.indices { result[i] -= amount * direction[i] }
        }
        return result
    }
}
