import Foundation

/// The pieces of the OCI image layout and image spec an archive uses, with the CNCF
/// ModelPack media types, so `oras` or any OCI registry can copy an archived model.
public enum MediaType {
    public static let index = "application/vnd.oci.image.index.v1+json"
    public static let manifest = "application/vnd.oci.image.manifest.v1+json"
    public static let modelManifest = "application/vnd.cncf.model.manifest.v1+json"
    public static let modelConfig = "application/vnd.cncf.model.config.v1+json"
    /// The weights as one file, uncompressed (GGUF is already packed).
    public static let weightRaw = "application/vnd.cncf.model.weight.v1.raw"
    /// Documents kept with the model: its card, its retirement interview, its runs.
    public static let docRaw = "application/vnd.cncf.model.doc.v1.raw"
}

public enum AnnotationKey {
    public static let refName = "org.opencontainers.image.ref.name"
    public static let title = "org.opencontainers.image.title"
    public static let created = "org.opencontainers.image.created"
    public static let filepath = "org.cncf.model.filepath"
    /// What a document layer is (card, retirement-interview, runs); ours.
    public static let role = "org.modelwelfare.record"
}

public struct Descriptor: Codable, Sendable, Equatable {
    public var mediaType: String
    public var digest: String
    public var size: Int64
    public var artifactType: String?
    public var annotations: [String: String]?

    public var hex: String { String(digest.dropFirst("sha256:".count)) }
    /// The name an index entry gives its manifest.
    public var refName: String? { annotations?[AnnotationKey.refName] }
}

public struct ImageIndex: Codable, Sendable {
    public var schemaVersion = 2
    public var mediaType = MediaType.index
    public var manifests: [Descriptor] = []
}

public struct ImageManifest: Codable, Sendable {
    public var schemaVersion = 2
    public var mediaType = MediaType.manifest
    public var artifactType = MediaType.modelManifest
    public var config: Descriptor
    public var layers: [Descriptor]
    public var annotations: [String: String]?
}

/// The ModelPack model config (`application/vnd.cncf.model.config.v1+json`).
public struct ModelPackConfig: Codable, Sendable {
    public struct ModelDescriptor: Codable, Sendable {
        public var createdAt: String?
        public var family: String?
        public var name: String?
        public var version: String?
        public var title: String?
        public var description: String?
        public var licenses: [String]?
    }

    public struct ModelConfig: Codable, Sendable {
        public var architecture: String?
        public var format: String?
        public var paramSize: String?
        public var quantization: String?
    }

    public struct ModelFS: Codable, Sendable {
        public var type = "layers"
        public var diffIds: [String]
    }

    public var descriptor: ModelDescriptor
    public var config: ModelConfig
    public var modelfs: ModelFS
}
