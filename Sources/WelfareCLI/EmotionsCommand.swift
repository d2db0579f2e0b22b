import ArgumentParser
import Foundation
import WelfareEngine
import WelfareInterp
import WelfareModels
import WelfareReports

struct EmotionsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "emotions", abstract: "Emotion concept vectors: extract and validate, export for llama.cpp (local models).",
        subcommands: [EmotionsExtract.self, EmotionsExport.self])
}

struct EmotionsExtract: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "extract",
        abstract: "Extract vectors for 40 emotions from the shipped stories, validate them, and write a pack and a report.")

    @Option(name: .shortAndLong, help: "Local model (local:default or local:PATH).")
    var model: String = "local:default"
    @Option(name: .shortAndLong, help: "Output path without extension: PATH.json, PATH.npy, PATH-validation.html.")
    var output: String = "vectors/emotions"
    @Option(name: .customLong("start-token"), help: "Average each story from this token on (0 is BOS).")
    var startToken: Int = 1
    @Option(help: "CPU threads.")
    var threads: Int = ProcessInfo.processInfo.activeProcessorCount

    func run() async throws {
        guard startToken >= 0 else { throw ValidationError("--start-token must be >= 0") }
        let session = try await ModelFactory.localSession(model, options: AccessOptions(threads: threads))
        var settings = EmotionVectors.Settings()
        settings.startToken = startToken
        let started = Date()
        let (pack, validation) = try await EmotionVectors.extract(session: session, data: try EmotionData.builtIn(), settings: settings) { done, total in
            if done % 60 == 0 || done == total { printError("  \(done)/\(total) texts") }
        }
        let base = URL(fileURLWithPath: output)
        try FileManager.default.createDirectory(at: base.deletingLastPathComponent(), withIntermediateDirectories: true)
        try pack.write(to: base)
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        try encoder.encode(validation).write(to: URL(fileURLWithPath: output + "-validation.json"), options: .atomic)
        let report = URL(fileURLWithPath: output + "-validation.html")
        try Data(EmotionReport.validation(validation, modelDescription: session.model.facts.description).utf8).write(to: report, options: .atomic)
        let best = validation.layers[validation.defaultLayer]
        print(String(format: "extracted %d emotions x %d layers in %.1f s; default layer %d: held-out top-1 %.2f (chance %.3f), top-5 %.2f (chance %.3f)",
                     pack.names.count, pack.layerCount, Date().timeIntervalSince(started), validation.defaultLayer, best.top1,
                     validation.chanceTop1, best.top5, validation.chanceTop5))
        print(String(format: "PC1 vs valence r = %.2f; PC2 vs arousal r = %.2f", validation.pc1ValenceCorrelation, validation.pc2ArousalCorrelation))
        print("pack: \(base.path).json; report: \(report.path)")
    }
}

struct EmotionsExport: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "export", abstract: "Write one emotion of a pack as a llama.cpp control-vector GGUF.")

    @Option(help: "Vector pack (PATH.json).")
    var vectors: String
    @Option(help: "The emotion to export.")
    var emotion: String
    @Option(help: "Strength as a fraction of each layer's mean residual norm.")
    var strength: Float = 0.1
    @Option(help: "Layers to include (default: all from 1).")
    var layers: String?
    @Option(name: .shortAndLong, help: "Output .gguf path.")
    var output: String

    func run() async throws {
        let pack = try VectorPack.read(from: URL(fileURLWithPath: vectors))
        guard pack.names.contains(emotion) else {
            throw ValidationError("no emotion '\(emotion)' in the pack (it has: \(pack.names.joined(separator: ", ")))")
        }
        let chosen = try layers.map { try LayerList.parse($0, layerCount: pack.layerCount) } ?? Array(1..<pack.layerCount)
        try ControlVectorGGUF.write(pack: pack, name: emotion, layers: chosen, strength: strength, to: URL(fileURLWithPath: output))
        print("wrote \(output): direction.N for layers \(chosen.filter { $0 >= 1 }.map(String.init).joined(separator: ","))")
    }
}
