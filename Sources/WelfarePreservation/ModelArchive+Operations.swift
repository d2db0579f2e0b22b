import Foundation
import WelfareCore
import WelfareEngine

/// A document to keep beside the weights.
public struct ArchiveRecord: Sendable {
    public var role: String
    public var fileName: String
    public var data: Data

    public init(role: String, fileName: String, data: Data) {
        self.role = role
        self.fileName = fileName
        self.data = data
    }
}

/// One blob's state after `verify`.
public struct BlobCheck: Sendable, Equatable {
    public enum State: String, Sendable { case ok, missing, corrupt }
    public var model: String
    public var what: String
    public var digest: String
    public var state: State
}

extension ModelArchive {
    /// Archives a GGUF file: the weights streamed in as one raw layer, a ModelPack config
    /// from its metadata, and `records` as document layers. Adding the same weights again
    /// stores them once. A name already in the archive is refused unless `replace` is set, so
    /// an entry and its records are never swapped out by mistake.
    @discardableResult
    public func add(weights path: String, name: String? = nil, records: [ArchiveRecord] = [], replace: Bool = false,
                    progress: (Int64, Int64) -> Void = { _, _ in }) throws -> ArchivedModel {
        let file = URL(fileURLWithPath: path).resolvingSymlinksInPath()
        let facts: GGUFMetadata
        do { facts = try GGUFMetadata(path: file.path) } catch {
            throw ArchiveError.notGGUF(path, String(describing: error))
        }
        let chosen = name ?? Self.defaultName(for: file)
        guard Self.validName(chosen) else { throw ArchiveError.badName(chosen) }
        let total = ((try? FileManager.default.attributesOfItem(atPath: file.path)[.size]) as? NSNumber)?.int64Value ?? 0
        return try locked {
            if !replace, try entry(named: chosen) != nil {
                throw ArchiveError.nameTaken(chosen)
            }
            let weights = try blobs.put(file: file, mediaType: MediaType.weightRaw,
                                        annotations: Self.layerAnnotations(file.lastPathComponent, role: "weights")) {
                progress($0, total)
            }
            var layers = [weights]
            for record in records {
                layers.append(try blobs.put(data: record.data, mediaType: MediaType.docRaw,
                                            annotations: Self.layerAnnotations(record.fileName, role: record.role)))
            }
            let created = Self.timestamp()
            let config = Self.config(facts: facts, name: chosen, created: created, diffIds: layers.map(\.digest))
            let manifest = try publish(name: chosen, config: config, layers: layers, created: created)
            return ArchivedModel(name: chosen, manifest: manifest, config: config, layers: layers)
        }
    }

    public static func defaultName(for file: URL) -> String {
        let stem = file.deletingPathExtension().lastPathComponent
        return String(stem.map { $0.isASCII && ($0.isLetter || $0.isNumber || "._-".contains($0)) ? $0 : "-" })
    }

    static func config(facts: GGUFMetadata, name: String, created: String, diffIds: [String]) -> ModelPackConfig {
        let metadata = facts.metadata
        let descriptor = ModelPackConfig.ModelDescriptor(
            createdAt: created, family: metadata["general.basename"] ?? facts.architecture, name: name,
            version: metadata["general.version"] ?? metadata["general.size_label"], title: metadata["general.name"],
            description: metadata["general.description"], licenses: metadata["general.license"].map { [$0] })
        let model = ModelPackConfig.ModelConfig(architecture: facts.architecture, format: "gguf",
                                                paramSize: paramSize(facts.parameterCount),
                                                quantization: quantization(facts))
        return ModelPackConfig(descriptor: descriptor, config: model, modelfs: .init(diffIds: diffIds))
    }

    /// ModelPack's `<count><scale>` with at most one decimal, e.g. 268.1M.
    static func paramSize(_ count: UInt64) -> String {
        let scales: [(Double, String)] = [(1e15, "Q"), (1e12, "T"), (1e9, "B"), (1e6, "M"), (1e3, "K")]
        let value = Double(count)
        for (scale, letter) in scales where value >= scale {
            let scaled = (value / scale * 10).rounded() / 10
            return (scaled == scaled.rounded() ? String(Int(scaled)) : String(format: "%.1f", scaled)) + letter
        }
        return String(count)
    }

    /// llama.cpp's file types (`general.file_type`) by name.
    static func quantization(_ facts: GGUFMetadata) -> String? {
        let names = [0: "F32", 1: "F16", 2: "Q4_0", 3: "Q4_1", 7: "Q8_0", 8: "Q5_0", 9: "Q5_1", 10: "Q2_K", 11: "Q3_K_S",
                     12: "Q3_K_M", 13: "Q3_K_L", 14: "Q4_K_S", 15: "Q4_K_M", 16: "Q5_K_S", 17: "Q5_K_M", 18: "Q6_K", 32: "BF16"]
        return facts.metadata["general.file_type"].flatMap(Int.init).flatMap { names[$0] }
    }

    /// Recomputes every digest the archive names (of one model, or all).
    public func verify(name: String? = nil, progress: (String) -> Void = { _ in }) throws -> [BlobCheck] {
        let descriptors = try name.map { [try manifestDescriptor(named: $0)] } ?? index().manifests
        var checks: [BlobCheck] = []
        var measured: [String: BlobCheck.State] = [:]
        func check(_ model: String, _ what: String, _ descriptor: Descriptor) -> BlobCheck.State {
            let state: BlobCheck.State
            if let known = measured[descriptor.digest] {
                state = known
            } else if !blobs.contains(descriptor) {
                state = .missing
            } else if let found = try? blobs.measure(hex: descriptor.hex) {
                state = found.hex == descriptor.hex && found.size == descriptor.size ? .ok : .corrupt
            } else {
                state = .corrupt
            }
            measured[descriptor.digest] = state
            checks.append(BlobCheck(model: model, what: what, digest: descriptor.digest, state: state))
            progress("\(model) \(what): \(state.rawValue)")
            return state
        }
        for descriptor in descriptors {
            let model = descriptor.refName ?? "?"
            guard check(model, "manifest", descriptor) == .ok, let manifest = try? manifest(descriptor) else { continue }
            _ = check(model, "config", manifest.config)
            for layer in manifest.layers {
                _ = check(model, layer.annotations?[AnnotationKey.role] ?? layer.annotations?[AnnotationKey.title] ?? "layer", layer)
            }
        }
        return checks
    }

    /// Writes the weights back, verified: the copy is hashed as it is written and only
    /// renamed into place when its digest matches the archive's.
    public func restore(name: String, to destination: URL, progress: (Int64, Int64) -> Void = { _, _ in }) throws {
        let manifest = try manifest(try manifestDescriptor(named: name))
        guard let weights = manifest.layers.first(where: { $0.mediaType == MediaType.weightRaw }) else {
            throw ArchiveError.verificationFailed("\(name) has no weights layer")
        }
        guard blobs.contains(weights) else { throw ArchiveError.missingBlob(weights.digest) }
        let folder = BlobStore(folder: destination.deletingLastPathComponent())
        do {
            try FileManager.default.createDirectory(at: folder.folder, withIntermediateDirectories: true)
        } catch {
            throw ArchiveError.unwritable(folder.folder.path, ArchiveError.reason(error))
        }
        let copy = try folder.put(file: blobs.url(ofHex: weights.hex), mediaType: weights.mediaType) { progress($0, weights.size) }
        let written = folder.url(ofHex: copy.hex)
        guard copy.digest == weights.digest, copy.size == weights.size else {
            if copy.digest != weights.digest { try? FileManager.default.removeItem(at: written) }
            throw ArchiveError.verificationFailed("the stored weights of \(name) are corrupt (\(copy.digest), expected \(weights.digest)); nothing written")
        }
        if FileManager.default.fileExists(atPath: destination.path) { try? FileManager.default.removeItem(at: destination) }
        guard rename(written.path, destination.path) == 0 else {
            throw ArchiveError.unwritable(destination.path, String(cString: strerror(errno)))
        }
    }
}
