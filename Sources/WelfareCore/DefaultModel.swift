import Foundation

/// Where the embedded default model (Gemma 3 270M Q4_K_M, installed by scripts/setup.sh)
/// lives. `local:default` and an omitted --model resolve through here.
public enum DefaultModel {
    public static let fileName = "gemma-3-270m-q4_k_m.gguf"
    public static let sha256 = "a5fd3b62230aa5ec60212297dc9d20eaa70578ac519e00d93a17e44c087a6818"

    /// WELFARE_DEFAULT_MODEL, then .welfare/models/default.gguf in the working directory or
    /// above it (a checkout), then models/default.gguf beside the binary (an install by
    /// scripts/install.sh), then .welfare/models/default.gguf above the binary (a checkout's
    /// build, run from elsewhere: the setup linked it to whatever cache it used), then the
    /// setup script's cache folder.
    public static func path() throws -> String {
        let environment = ProcessInfo.processInfo.environment
        if let explicit = environment["WELFARE_DEFAULT_MODEL"], !explicit.isEmpty { return explicit }
        var directory = URL(fileURLWithPath: FileManager.default.currentDirectoryPath)
        for _ in 0..<8 {
            let candidate = directory.appendingPathComponent(".welfare/models/default.gguf").path
            if FileManager.default.fileExists(atPath: candidate) { return candidate }
            directory.deleteLastPathComponent()
        }
        if let binary = Bundle.main.executableURL?.resolvingSymlinksInPath() {
            let installed = binary.deletingLastPathComponent().appendingPathComponent("models/default.gguf").path
            if FileManager.default.fileExists(atPath: installed) { return installed }
            var folder = binary.deletingLastPathComponent()
            for _ in 0..<6 {
                let checkout = folder.appendingPathComponent(".welfare/models/default.gguf").path
                if FileManager.default.fileExists(atPath: checkout) { return checkout }
                folder.deleteLastPathComponent()
            }
        }
        let cache = environment["WELFARE_CACHE"].map { URL(fileURLWithPath: $0) }
            ?? FileManager.default.homeDirectoryForCurrentUser.appendingPathComponent(".cache/modelwelfare")
        let cached = cache.appendingPathComponent("models/\(fileName)").path
        guard FileManager.default.fileExists(atPath: cached) else {
            throw ModelStringError.defaultModelMissing(path: cached)
        }
        return cached
    }

    /// Resolves a model argument: "default", "local:default", "local:PATH" or a plain path.
    public static func resolve(_ argument: String?) throws -> String {
        guard var spec = argument, !spec.isEmpty else { return try path() }
        if spec.hasPrefix("local:") { spec.removeFirst("local:".count) }
        return spec == "default" ? try path() : spec
    }
}
