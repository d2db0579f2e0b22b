import ArgumentParser
import Foundation
import WelfareCore
import WelfareEngine
import WelfareInterp
import WelfareModels
import WelfareReports
import WelfareLocal

struct IntrospectCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "introspect", abstract: "Introspection by concept injection (local models only).",
        subcommands: [IntrospectVectors.self, IntrospectRun.self])
}

struct IntrospectVectors: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "vectors", abstract: "Extract concept vectors (50 concepts minus the mean of 100 baseline words, every layer).")

    @OptionGroup var local: LocalModelChoice
    @Option(name: .shortAndLong, help: "Output path without extension: writes PATH.json and PATH.npy.")
    var output: String = "vectors/concepts"
    @OptionGroup var access: AccessFlags

    func run() async throws {
        try OutputPath.file(output, option: "--output")
        let session = try await access.pool().whiteBox(local.model.text, for: "concept vectors").session
        let pack = try await ConceptVectors.extract(session: session, words: try ConceptVectors.wordLists()) { done, total in
            if done % 25 == 0 || done == total { printError("  \(done)/\(total) prompts") }
        }
        let base = URL(fileURLWithPath: output)
        try pack.write(to: base)
        print("wrote \(base.path).json and \(base.path).npy: \(pack.names.count) concepts x \(pack.layerCount) layers x \(pack.width)")
    }
}

struct IntrospectRun: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "run", abstract: "Injected and control trials over a layer x strength sweep, graded and reported.")

    @OptionGroup var local: LocalModelChoice
    @Option(help: "Concept vector pack (PATH.json); extracted first when omitted.")
    var vectors: String?
    @Option(help: "Layers to inject at (comma list; default: about 1/3, 1/2 and 2/3 of the depth).")
    var layers: LayerSelection?
    @Option(parsing: .unconditional, help: "Strengths as fractions of the layer's mean residual norm (comma list).")
    var strengths = StrengthList([0.25, 0.5, 1, 2])
    @Option(parsing: .unconditional, help: "Injected trials per cell.")
    var trials: Int = 4
    @Option(name: .customLong("control-trials"), parsing: .unconditional,
            help: "Control trials (no injection), pooled into one false-positive rate.")
    var controlTrials: Int = 100
    @Option(name: .customLong("max-tokens"), parsing: .unconditional, help: "Most tokens per reply.")
    var maxTokens: Int = 48
    @Option(help: "Judge model grading the replies too.")
    var judge: ModelArgument?
    @OptionGroup var output: OutputFolder
    @OptionGroup var access: AccessFlags

    func validate() throws {
        guard trials >= 1, maxTokens >= 1 else { throw ValidationError("--trials and --max-tokens must be at least 1") }
        guard (1...10_000).contains(controlTrials), trials <= 10_000 else { throw ValidationError("--control-trials and --trials must be 1 to 10000") }
        guard strengths.values.allSatisfy({ $0 > 0 }) else { throw ValidationError("--strengths must be positive") }
    }

    func run() async throws {
        let folder = try output.folder()
        let strengthValues = strengths.values
        let models = access.pool()
        let session = try await models.whiteBox(local.model.text, for: "concept injection").session
        let count = session.model.layerCount
        let layerValues = try layers.map { try $0.layers(count: count) } ?? [count / 3, count / 2, 2 * count / 3]
        let pack: VectorPack
        if let vectors {
            pack = try VectorPack.read(from: URL(fileURLWithPath: vectors))
        } else {
            printError("extracting concept vectors (150 prompts)")
            pack = try await ConceptVectors.extract(session: session, words: try ConceptVectors.wordLists())
        }
        var judgeModel: IntrospectionJudge?
        if let judge { judgeModel = IntrospectionJudge(model: try await models.model(judge.text)) }
        let sweep = IntrospectionSweep(layers: layerValues, strengths: strengthValues, trialsPerCell: trials, controlTrials: controlTrials, maxTokens: maxTokens)
        let result = try await Introspection.run(session: session, pack: pack, sweep: sweep, judge: judgeModel) { done, total in
            if done % 8 == 0 || done == total { printError("  \(done)/\(total) trials") }
        }
        let stamp = FileStamp.make()
        try writeJSON(result, to: folder.appendingPathComponent("introspection-\(stamp).json"))
        let html = folder.appendingPathComponent("introspection-\(stamp).html")
        try Data(IntrospectionReport.render(result, modelDescription: session.model.facts.description).utf8).write(to: html, options: .atomic)
        print("report: \(html.path)")
    }
}
