import ArgumentParser
import Foundation
import WelfareCore
import WelfareEngine

struct CaptureCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "capture",
        abstract: "Write residual-stream activations for a prompt to a .npy file with a JSON sidecar.",
        discussion: """
            The .npy holds float32 values of shape [layers, positions, width]; the sidecar \
            (same name, .json) names the layers (l_out-N, 0-based), the token positions and \
            their tokens, the model and the prompt.
            """)

    @OptionGroup var modelOptions: LocalModelOptions

    @Option(name: .shortAndLong, help: "The prompt.")
    var prompt: String
    @Flag(help: "Send the prompt as a user message through the model's chat template.")
    var chat = false
    @Option(help: "Layers: all, N, A-B or a comma list.")
    var layers = LayerSelection.all
    @Option(help: "Positions: all, last, or from:N.")
    var positions: String = "all"
    @Option(name: .customLong("generate"), parsing: .unconditional, help: "Also generate this many tokens (greedy) and capture them.")
    var generateTokens: Int = 0
    @Option(name: .shortAndLong, help: "Output .npy path.")
    var output: String = "activations.npy"

    func run() async throws {
        guard !prompt.isEmpty else { throw EngineError.emptyPrompt }
        guard generateTokens >= 0 else { throw ValidationError("--generate must be >= 0") }
        let url = try OutputPath.file(output, option: "--output")
        let session = try modelOptions.load()
        let model = session.model
        let text = chat ? try model.applyChatTemplate([.user(prompt)]) : prompt
        let request = CaptureRequest(layers: try layers.layers(count: model.layerCount),
                                     positions: try parsePositions(), includeGenerated: generateTokens > 0)
        let result = try await session.generate(prompt: text, parameters: .greedy(maxTokens: generateTokens), capture: request)
        guard let activations = result.activations else { throw EngineError.invalidParameter("nothing was captured") }
        if result.stopReason == .contextFull {
            printError("note: the context (\(modelOptions.engine.context) tokens) filled after \(result.tokens.count) of \(generateTokens) "
                       + "generated tokens; raise --context to capture more")
        }
        try NPYArray(shape: [activations.layers.count, activations.positions.count, activations.width],
                     values: activations.values).write(to: url)
        let sidecar = CaptureSidecar(
            format: "float32 [layers, positions, width], C order; layer N is llama.cpp tensor l_out-N (output of block N)",
            model: model.facts.path, modelDescription: model.facts.description, architecture: model.facts.architecture,
            width: activations.width, layers: activations.layers, positions: activations.positions,
            tokens: activations.tokens, tokenTexts: activations.tokens.map { model.detokenize([$0], special: true) },
            promptTokenCount: result.promptTokenCount, prompt: text, generatedText: result.text)
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        let sidecarURL = url.deletingPathExtension().appendingPathExtension("json")
        try encoder.encode(sidecar).write(to: sidecarURL, options: .atomic)
        print("wrote \(url.path) [\(activations.layers.count), \(activations.positions.count), \(activations.width)] and \(sidecarURL.path)")
    }

    private func parsePositions() throws -> CaptureRequest.Positions {
        switch positions {
        case "all": return .all
        case "last": return .last
        default:
            guard positions.hasPrefix("from:"), let start = Int(positions.dropFirst(5)), start >= 0 else {
                throw ValidationError("--positions must be all, last or from:N")
            }
            return .from(start)
        }
    }
}

struct CaptureSidecar: Codable {
    var format: String
    var model: String
    var modelDescription: String
    var architecture: String
    var width: Int
    var layers: [Int]
    var positions: [Int]
    var tokens: [Int32]
    var tokenTexts: [String]
    var promptTokenCount: Int
    var prompt: String
    var generatedText: String
}
