import Crypto
import Foundation

/// SHA-256 of files such as model weights, read in chunks. Results are remembered per
/// path, size and modification time, so checking a vector pack against the same model
/// twice in one process reads the weights once.
public enum FileDigest {
    private static let cache = DigestCache()

    public static func sha256(of path: String) throws -> String {
        let attributes = try? FileManager.default.attributesOfItem(atPath: path)
        let key = "\(path)|\((attributes?[.size] as? NSNumber)?.uint64Value ?? 0)|\((attributes?[.modificationDate] as? Date)?.timeIntervalSince1970 ?? 0)"
        if let known = cache.value(for: key) { return known }
        guard let handle = FileHandle(forReadingAtPath: path) else { throw EngineError.modelFileMissing(path: path) }
        defer { try? handle.close() }
        var hasher = SHA256()
        while true {
            let chunk = try handle.read(upToCount: 4 << 20) ?? Data()
            if chunk.isEmpty { break }
            hasher.update(data: chunk)
        }
        let digest = hasher.finalize().map { String(format: "%02x", $0) }.joined()
        cache.store(digest, for: key)
        return digest
    }
}

private final class DigestCache: @unchecked Sendable {
    private let lock = NSLock()
    private var values: [String: String] = [:]

    func value(for key: String) -> String? { lock.withLock { values[key] } }
    func store(_ value: String, for key: String) { lock.withLock { values[key] = value } }
}
