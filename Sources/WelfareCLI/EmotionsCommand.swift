import ArgumentParser
import Foundation
import WelfareCore
import WelfareEngine
import WelfareHarness
import WelfareInterp
import WelfareModels
import WelfareReports
import WelfareLocal

struct EmotionsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "emotions", abstract: "Emotion concept vectors: extract and validate, export for llama.cpp (local models).",
        subcommands: [EmotionsExtract.self, EmotionsValidate.self, EmotionsExport.self, EmotionsProbe.self, EmotionsSteer.self, EmotionsStories.self])
}

struct EmotionsExtract: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "extract",
        abstract: "Extract vectors for 40 emotions from the shipped stories, validate them, and write a pack and a report.")

    @OptionGroup var data: StoriesOption
    @OptionGroup var local: LocalModelChoice
    @Option(name: .shortAndLong, help: "Output path without extension: PATH.json, PATH.npy, PATH-validation.html.")
    var output: String = "vectors/emotions"
    @Option(name: .customLong("start-token"), parsing: .unconditional, help: "Average each story from this token on (0 is BOS).")
    var startToken: Int = 1
    @OptionGroup var access: AccessFlags

    func run() async throws {
        guard startToken >= 0 else { throw ValidationError("--start-token must be >= 0") }
        try OutputPath.file(output, option: "--output")
        let session = try await access.pool().whiteBox(local.model.text, for: "emotion vectors").session
        var settings = EmotionVectors.Settings()
        settings.startToken = startToken
        let started = Date()
        let (pack, validation) = try await EmotionVectors.extract(session: session, data: try data.load(), settings: settings) { done, total in
            printError("  \(done)/\(total) texts")
        }
        let base = URL(fileURLWithPath: output)
        try pack.write(to: base)
        try writeJSON(validation, to: URL(fileURLWithPath: output + "-validation.json"))
        let report = URL(fileURLWithPath: output + "-validation.html")
        let source = "Vectors from stories of \(data.name), without stories \(settings.heldOut.map(String.init).joined(separator: ", ")) (0-based) of each emotion, which were held out and are the ones tested; the pack itself uses all stories."
        try Data(EmotionReport.validation(validation, modelDescription: session.model.facts.description, source: source).utf8)
            .write(to: report, options: .atomic)
        print(String(format: "extracted %d emotions x %d layers in %.1f s; default layer %d: held-out ",
                     pack.names.count, pack.layerCount, Date().timeIntervalSince(started), validation.defaultLayer) + validation.accuracySummary)
        let rhos = validation.intensity.map(\.spearman).filter { $0.isFinite }
        print(String(format: "PC1 vs valence r = %.2f; PC2 vs arousal r = %.2f; intensity templates: mean Spearman rho %+.2f over %d",
                     validation.pc1ValenceCorrelation, validation.pc2ArousalCorrelation, Statistics.mean(rhos), rhos.count))
        print("pack: \(base.path).json; report: \(report.path)")
    }
}

/// Where the stories come from: the shipped set, or a file in its format.
struct StoriesOption: ParsableArguments {
    @Option(help: "Stories YAML in the shipped format (e.g. from `welfare emotions stories`); default: the shipped stories.")
    var stories: String?

    var name: String { stories.map { URL(fileURLWithPath: $0).lastPathComponent } ?? "the shipped set" }

    func load() throws -> EmotionData {
        try stories.map { try EmotionData.withStories(from: URL(fileURLWithPath: $0)) } ?? EmotionData.builtIn()
    }
}

/// The local model, the vector pack made on it, and how models are reached (threads for
/// the local one; the rest for any judge a command also uses).
struct PackOptions: ParsableArguments {
    @OptionGroup(title: "The local model the vectors were made on") var local: LocalModelChoice
    @Option(help: "Vector pack (PATH.json).")
    var vectors: String
    @OptionGroup var access: AccessFlags

    func load() async throws -> (WhiteBoxModel, VectorPack) {
        let pack = try VectorPack.read(from: URL(fileURLWithPath: vectors))
        return (try await access.pool().whiteBox(local.model.text, for: "a vector pack"), pack)
    }
}

struct EmotionsValidate: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "validate",
        abstract: "Score an existing pack on a story set (ideally stories it was not made from) and write a validation report.")

    @OptionGroup var pack: PackOptions
    @OptionGroup var data: StoriesOption
    @Option(name: .shortAndLong, help: "Output path without extension: PATH.json and PATH.html (default: the pack's path + -check).")
    var output: String?
    func run() async throws {
        if let output { try OutputPath.file(output, option: "--output") }
        let (whiteBox, vectorPack) = try await pack.load()
        let session = whiteBox.session
        let validation = try await EmotionVectors.validate(pack: vectorPack, session: session, data: try data.load()) { done, total in
            printError("  \(done)/\(total) texts")
        }
        let base = output ?? (pack.vectors.hasSuffix(".json") ? String(pack.vectors.dropLast(5)) : pack.vectors) + "-check"
        try writeJSON(validation, to: URL(fileURLWithPath: base + ".json"))
        let inSample = data.stories == nil && vectorPack.settings["stories"] != nil
        let source = "All stories of \(data.name) scored against the pack \(URL(fileURLWithPath: pack.vectors).lastPathComponent)"
            + (inSample ? " (in-sample if the pack was extracted from the shipped stories: accuracy is optimistic)." : ".")
        try Data(EmotionReport.validation(validation, modelDescription: session.model.facts.description, source: source).utf8)
            .write(to: URL(fileURLWithPath: base + ".html"), options: .atomic)
        print("\(validation.heldOutStories) stories, \(validation.emotions) emotions; pack's layer \(validation.defaultLayer): \(validation.accuracySummary)")
        print("report: \(base).html")
    }
}

struct EmotionsExport: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "export", abstract: "Write one emotion of a pack as a llama.cpp control-vector GGUF.")

    @Option(help: "Vector pack (PATH.json).")
    var vectors: String
    @Option(help: "The emotion to export.")
    var emotion: String
    @Option(parsing: .unconditional, help: "Strength as a fraction of each layer's mean residual norm.")
    var strength: Float = 0.1
    @Option(help: "Layers to include (default: all from 1).")
    var layers: LayerSelection?
    @Option(name: .shortAndLong, help: "Output .gguf path.")
    var output: String

    func run() async throws {
        try OutputPath.file(output, option: "--output")
        let pack = try VectorPack.read(from: URL(fileURLWithPath: vectors))
        let chosen = try (layers.map { try $0.layers(count: pack.layerCount) } ?? Array(1..<pack.layerCount)).filter { $0 >= 1 }
        try pack.steering(emotion, layers: chosen, fraction: strength).writeControlVector(to: URL(fileURLWithPath: output))
        print("wrote \(output): direction.N for layers \(chosen.filter { $0 >= 1 }.map(String.init).joined(separator: ","))")
    }
}
