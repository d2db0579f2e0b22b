import Foundation

/// A folder of retired models laid out as an OCI image layout (`oci-layout`, `index.json`,
/// `blobs/sha256/`): each model is one manifest (ModelPack config, the weights as one raw
/// layer, its documents as further layers) named in the index by
/// `org.opencontainers.image.ref.name`. Changes take the folder's lock and end by renaming
/// a new `index.json` into place, so a reader or a killed writer never sees half a change.
public struct ModelArchive: Sendable {
    public let root: URL
    var blobs: BlobStore { BlobStore(folder: root.appendingPathComponent("blobs/sha256")) }
    var indexURL: URL { root.appendingPathComponent("index.json") }

    /// Opens the archive, creating an empty layout when the folder has none.
    /// Opens the archive at `root`. With `create`, a folder that is not one yet becomes one
    /// (under the archive's lock, so processes creating it at once all find it whole);
    /// without, a missing archive is refused: reading never creates.
    public init(root: URL, create: Bool = true) throws {
        self.root = root
        var isFolder: ObjCBool = false
        if FileManager.default.fileExists(atPath: root.path, isDirectory: &isFolder), !isFolder.boolValue {
            throw ArchiveError.notAnArchive(root.path, "it is a file")
        }
        let layout = root.appendingPathComponent("oci-layout")
        if FileManager.default.fileExists(atPath: layout.path) { return }
        guard create else { throw ArchiveError.notAnArchive(root.path, "no archive there (`welfare archive add` makes one)") }
        do {
            try FileManager.default.createDirectory(at: root, withIntermediateDirectories: true)
        } catch {
            throw ArchiveError.unwritable(root.path, ArchiveError.reason(error))
        }
        try locked {
            // Another process may have made it while this one waited for the lock.
            if FileManager.default.fileExists(atPath: layout.path) { return }
            do {
                try FileManager.default.createDirectory(at: root.appendingPathComponent("blobs/sha256"), withIntermediateDirectories: true)
            } catch {
                throw ArchiveError.unwritable(root.path, ArchiveError.reason(error))
            }
            if !FileManager.default.fileExists(atPath: indexURL.path) { try writeIndex(ImageIndex()) }
            // The layout file last: its presence says the archive is whole.
            do {
                try Data(#"{"imageLayoutVersion":"1.0.0"}"#.utf8).write(to: layout, options: .atomic)
            } catch {
                throw ArchiveError.unwritable(layout.path, ArchiveError.reason(error))
            }
        }
    }

    public static func validName(_ name: String) -> Bool {
        !name.isEmpty && name.count <= 128 && name.first != "." && name.allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber || "._-".contains($0)) }
    }

    // MARK: - Reading

    public func index() throws -> ImageIndex {
        guard let data = FileManager.default.contents(atPath: indexURL.path) else { throw ArchiveError.unreadable(indexURL.path) }
        do { return try JSONDecoder().decode(ImageIndex.self, from: data) } catch {
            throw ArchiveError.corruptIndex(indexURL.path)
        }
    }

    /// The index entry of a model, nil when the archive holds none of that name.
    public func entry(named name: String) throws -> Descriptor? {
        try index().manifests.first { $0.refName == name }
    }

    public func manifestDescriptor(named name: String) throws -> Descriptor {
        guard let descriptor = try entry(named: name) else {
            throw ArchiveError.noSuchModel(name, known: try index().manifests.compactMap(\.refName))
        }
        return descriptor
    }

    public func manifest(_ descriptor: Descriptor) throws -> ImageManifest {
        do { return try JSONDecoder().decode(ImageManifest.self, from: try blobs.read(descriptor)) } catch let error as ArchiveError {
            throw error
        } catch {
            throw ArchiveError.corruptBlob(descriptor.digest)
        }
    }

    public func config(of manifest: ImageManifest) throws -> ModelPackConfig {
        do { return try JSONDecoder().decode(ModelPackConfig.self, from: try blobs.read(manifest.config)) } catch let error as ArchiveError {
            throw error
        } catch {
            throw ArchiveError.corruptBlob(manifest.config.digest)
        }
    }

    /// The archived models with what each holds.
    public func list() throws -> [ArchivedModel] {
        try index().manifests.map { descriptor in
            let manifest = try manifest(descriptor)
            let config = try config(of: manifest)
            return ArchivedModel(name: descriptor.refName ?? "?", manifest: descriptor, config: config,
                                 layers: manifest.layers)
        }
    }

    /// A document layer's content (the retirement interview, the card...), newest first.
    public func record(_ role: String, of name: String) throws -> Data? {
        let manifest = try manifest(try manifestDescriptor(named: name))
        guard let layer = manifest.layers.last(where: { $0.annotations?[AnnotationKey.role] == role }) else { return nil }
        return try blobs.read(layer)
    }

    /// Where an archived model's weights are, to load them as they are stored.
    public func weightsPath(of name: String) throws -> String? {
        let manifest = try manifest(try manifestDescriptor(named: name))
        return manifest.layers.first { $0.mediaType == MediaType.weightRaw }.map { blobs.url(ofHex: $0.hex).path }
    }

    // MARK: - Changing

    /// Runs `body` holding the archive's lock, after clearing what a killed writer left.
    func locked<T>(_ body: () throws -> T) throws -> T {
        let lockPath = root.appendingPathComponent(".lock").path
        let descriptor = open(lockPath, O_CREAT | O_RDWR, 0o644)
        guard descriptor >= 0 else { throw ArchiveError.unwritable(lockPath, String(cString: strerror(errno))) }
        defer { close(descriptor) }
        guard flock(descriptor, LOCK_EX) == 0 else { throw ArchiveError.unwritable(lockPath, String(cString: strerror(errno))) }
        defer { flock(descriptor, LOCK_UN) }
        blobs.removeStrays()
        for name in (try? FileManager.default.contentsOfDirectory(atPath: root.path)) ?? [] where name.hasPrefix(".index.json.partial") {
            try? FileManager.default.removeItem(at: root.appendingPathComponent(name))
        }
        return try body()
    }

    func writeIndex(_ index: ImageIndex) throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        // One temporary name per writer: two processes never write the same partial file.
        let temporary = root.appendingPathComponent(".index.json.partial-\(UUID().uuidString)")
        do {
            try encoder.encode(index).write(to: temporary)
            let handle = try FileHandle(forWritingTo: temporary)
            try handle.synchronize()
            try handle.close()
        } catch {
            throw ArchiveError.unwritable(temporary.path, String(describing: error))
        }
        guard rename(temporary.path, indexURL.path) == 0 else {
            throw ArchiveError.unwritable(indexURL.path, String(cString: strerror(errno)))
        }
        let folder = open(root.path, O_RDONLY)
        if folder >= 0 {
            fsync(folder)
            close(folder)
        }
    }

    /// Stores a manifest for `name` and points the index at it (replacing any earlier one).
    func publish(name: String, config: ModelPackConfig, layers: [Descriptor], created: String) throws -> Descriptor {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        let configDescriptor = try blobs.put(data: try encoder.encode(config), mediaType: MediaType.modelConfig)
        let manifest = ImageManifest(config: configDescriptor, layers: layers,
                                     annotations: [AnnotationKey.created: created, AnnotationKey.title: name])
        var descriptor = try blobs.put(data: try encoder.encode(manifest), mediaType: MediaType.manifest)
        descriptor.artifactType = MediaType.modelManifest
        descriptor.annotations = [AnnotationKey.refName: name]
        var index = try index()
        index.manifests.removeAll { $0.refName == name }
        index.manifests.append(descriptor)
        try writeIndex(index)
        return descriptor
    }

    /// Adds document layers to an archived model (a new manifest; the weights are shared).
    /// With `recordsOnly`, a model not in the archive (one reached over an API, its weights
    /// kept elsewhere) gets an entry holding only its records.
    @discardableResult
    public func addRecords(to name: String, _ records: [ArchiveRecord], recordsOnly: Bool = false) throws -> Descriptor {
        guard Self.validName(name) else { throw ArchiveError.badName(name) }
        return try locked {
            let existing = try entry(named: name)
            if existing == nil, !recordsOnly { _ = try manifestDescriptor(named: name) }
            var layers: [Descriptor] = []
            var config = ModelPackConfig(descriptor: .init(name: name, description: "records only: the weights are kept elsewhere"),
                                         config: .init(), modelfs: .init(diffIds: []))
            var created = Self.timestamp()
            if let existing {
                let manifest = try manifest(existing)
                layers = manifest.layers
                config = try self.config(of: manifest)
                created = manifest.annotations?[AnnotationKey.created] ?? created
            }
            for record in records {
                let layer = try blobs.put(data: record.data, mediaType: MediaType.docRaw,
                                          annotations: Self.layerAnnotations(record.fileName, role: record.role))
                layers.append(layer)
                config.modelfs.diffIds.append(layer.digest)
            }
            return try publish(name: name, config: config, layers: layers, created: created)
        }
    }

    static func layerAnnotations(_ fileName: String, role: String) -> [String: String] {
        [AnnotationKey.title: fileName, AnnotationKey.filepath: fileName, AnnotationKey.role: role]
    }

    static func timestamp(_ date: Date = Date()) -> String {
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime]
        return formatter.string(from: date)
    }
}

public struct ArchivedModel: Sendable {
    public var name: String
    public var manifest: Descriptor
    public var config: ModelPackConfig
    public var layers: [Descriptor]

    public var weights: Descriptor? { layers.first { $0.mediaType == MediaType.weightRaw } }
    public var records: [String] { layers.compactMap { $0.annotations?[AnnotationKey.role] } }
}

public enum ArchiveError: Error, CustomStringConvertible, Equatable {
    case unreadable(String)
    case unwritable(String, String)
    case corruptIndex(String)
    case corruptBlob(String)
    case missingBlob(String)
    case noSuchModel(String, known: [String])
    case badName(String)
    case nameTaken(String)
    case notGGUF(String, String)
    case verificationFailed(String)
    /// The path holds no archive (or is a file), for commands that only read.
    case notAnArchive(String, String)

    /// A name as the user gave it, with control characters (newlines, escape codes) written
    /// as escapes, so an error stays one line and cannot drive the terminal.
    static func visible(_ text: String) -> String {
        text.unicodeScalars.map { $0.properties.generalCategory == .control ? "\\u{\(String($0.value, radix: 16))}" : String($0) }.joined()
    }

    /// An error's cause in one line (Foundation's file errors name their POSIX cause).
    static func reason(_ error: Error) -> String {
        if let cocoa = error as? CocoaError, let posix = cocoa.underlying as? POSIXError { return String(cString: strerror(posix.code.rawValue)) }
        return String(describing: error).split(separator: "\n").first.map(String.init) ?? "unknown error"
    }

    public var description: String {
        switch self {
        case .unreadable(let path): return "cannot read \(path)"
        case .unwritable(let path, let reason): return "cannot write \(path): \(reason)"
        case .corruptIndex(let path): return "\(path) is not a valid OCI image index"
        case .corruptBlob(let digest): return "blob \(digest) does not hold what the archive expects"
        case .missingBlob(let digest): return "blob \(digest) is missing from the archive"
        case .noSuchModel(let name, let known):
            return "no model '\(Self.visible(name))' in the archive" + (known.isEmpty ? " (it is empty)" : " (it holds: \(known.joined(separator: ", ")))")
        case .badName(let name): return "'\(Self.visible(name))' is not a usable name: use letters, digits, '.', '_' and '-' (up to 128)"
        case .nameTaken(let name): return "the archive already holds a model named '\(Self.visible(name))'"
        case .notGGUF(let path, let reason): return "\(path) is not a GGUF model: \(reason)"
        case .verificationFailed(let detail): return detail
        case .notAnArchive(let path, let why): return "\(path) is not an archive: \(why)"
        }
    }
}
