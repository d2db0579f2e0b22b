import Foundation

/// Checks a path before llama.cpp sees it, so that a missing or foreign file gets a
/// precise message instead of a generic load failure.
enum GGUFFile {
    static let magic: [UInt8] = Array("GGUF".utf8)

    static func validate(path: String) throws {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else {
            throw EngineError.modelFileMissing(path: path)
        }
        guard !isDirectory.boolValue else {
            throw EngineError.notGGUF(path: path, reason: "it is a directory")
        }
        guard let handle = FileHandle(forReadingAtPath: path) else {
            throw EngineError.notGGUF(path: path, reason: "cannot be opened for reading")
        }
        defer { try? handle.close() }
        let header = (try? handle.read(upToCount: 8)) ?? Data()
        guard header.count == 8 else {
            throw EngineError.notGGUF(path: path, reason: "only \(header.count) bytes long")
        }
        guard Array(header.prefix(4)) == magic else {
            throw EngineError.notGGUF(path: path, reason: "missing GGUF magic bytes")
        }
        let version = header.dropFirst(4).enumerated().reduce(UInt32(0)) { acc, item in
            acc | UInt32(item.element) << (8 * UInt32(item.offset))
        }
        guard (2...3).contains(version) else {
            throw EngineError.notGGUF(path: path, reason: "unsupported GGUF version \(version)")
        }
    }
}
