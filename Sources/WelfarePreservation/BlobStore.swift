import Crypto
import Foundation

/// Content-addressed files under `blobs/sha256/`, written so that a killed writer leaves
/// nothing referenced half-written: data goes to a temporary file while it is hashed, is
/// flushed, then renamed to its digest. The same content is stored once.
struct BlobStore {
    static let chunkSize = 8 << 20
    static let temporaryPrefix = ".partial-"

    let folder: URL

    func url(ofHex hex: String) -> URL { folder.appendingPathComponent(hex) }

    func contains(_ descriptor: Descriptor) -> Bool {
        FileManager.default.fileExists(atPath: url(ofHex: descriptor.hex).path)
    }

    /// Streams a file in, hashing as it goes; memory stays at one chunk whatever the size.
    func put(file source: URL, mediaType: String, annotations: [String: String]? = nil,
             progress: (Int64) -> Void = { _ in }) throws -> Descriptor {
        guard let input = FileHandle(forReadingAtPath: source.path) else { throw ArchiveError.unreadable(source.path) }
        defer { try? input.close() }
        return try write(mediaType: mediaType, annotations: annotations) { output, hasher in
            var total: Int64 = 0
            while true {
                let chunk = try input.read(upToCount: Self.chunkSize) ?? Data()
                if chunk.isEmpty { return total }
                hasher.update(data: chunk)
                try output.write(contentsOf: chunk)
                total += Int64(chunk.count)
                progress(total)
            }
        }
    }

    func put(data: Data, mediaType: String, annotations: [String: String]? = nil) throws -> Descriptor {
        try write(mediaType: mediaType, annotations: annotations) { output, hasher in
            hasher.update(data: data)
            try output.write(contentsOf: data)
            return Int64(data.count)
        }
    }

    private func write(mediaType: String, annotations: [String: String]?,
                       body: (FileHandle, inout SHA256) throws -> Int64) throws -> Descriptor {
        let temporary = folder.appendingPathComponent(Self.temporaryPrefix + UUID().uuidString)
        guard FileManager.default.createFile(atPath: temporary.path, contents: nil),
              let output = FileHandle(forWritingAtPath: temporary.path) else {
            throw ArchiveError.unwritable(folder.path, String(cString: strerror(errno)))
        }
        var hasher = SHA256()
        let size: Int64
        do {
            size = try body(output, &hasher)
            try output.synchronize()
            try output.close()
        } catch {
            try? output.close()
            try? FileManager.default.removeItem(at: temporary)
            throw ArchiveError.unwritable(temporary.path, ArchiveError.reason(error))
        }
        let hex = Self.hex(hasher.finalize())
        let final = url(ofHex: hex)
        if FileManager.default.fileExists(atPath: final.path) {
            try? FileManager.default.removeItem(at: temporary)
        } else {
            guard rename(temporary.path, final.path) == 0 else {
                let reason = String(cString: strerror(errno))
                try? FileManager.default.removeItem(at: temporary)
                throw ArchiveError.unwritable(final.path, reason)
            }
        }
        return Descriptor(mediaType: mediaType, digest: "sha256:" + hex, size: size, artifactType: nil, annotations: annotations)
    }

    /// The digest and size of a stored blob as it is on disk now.
    func measure(hex: String) throws -> (hex: String, size: Int64) {
        guard let input = FileHandle(forReadingAtPath: url(ofHex: hex).path) else { throw ArchiveError.unreadable(url(ofHex: hex).path) }
        defer { try? input.close() }
        var hasher = SHA256()
        var size: Int64 = 0
        while true {
            let chunk = try input.read(upToCount: Self.chunkSize) ?? Data()
            if chunk.isEmpty { break }
            hasher.update(data: chunk)
            size += Int64(chunk.count)
        }
        return (Self.hex(hasher.finalize()), size)
    }

    func read(_ descriptor: Descriptor) throws -> Data {
        guard let data = FileManager.default.contents(atPath: url(ofHex: descriptor.hex).path) else {
            throw ArchiveError.missingBlob(descriptor.digest)
        }
        return data
    }

    /// Temporary files left by a writer that was killed. Called under the archive's lock,
    /// when no writer can be running.
    func removeStrays() {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: folder.path)) ?? []
        for name in names where name.hasPrefix(Self.temporaryPrefix) {
            try? FileManager.default.removeItem(at: folder.appendingPathComponent(name))
        }
    }

    static func hex<D: Sequence>(_ digest: D) -> String where D.Element == UInt8 {
        let digits = Array("0123456789abcdef".utf8)
        var bytes: [UInt8] = []
        for byte in digest {
            bytes.append(digits[Int(byte >> 4)])
            bytes.append(digits[Int(byte & 0x0F)])
        }
        return String(decoding: bytes, as: UTF8.self)
    }
}
