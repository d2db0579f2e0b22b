import ArgumentParser
import Foundation
import WelfareCore
import WelfareEngine

struct GenerateCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "generate", abstract: "Generate text from a prompt, streaming it to stdout.")

    @OptionGroup var modelOptions: LocalModelOptions
    @OptionGroup var sampling: SamplingOptions

    @Option(name: .shortAndLong, help: "The prompt.")
    var prompt: String

    @Flag(help: "Send the prompt as a user message through the model's chat template.")
    var chat = false

    @Option(name: .customLong("steer-vector"), help: "Steering direction: a float32 .npy of the model's width.")
    var steerVector: String?
    @Option(name: .customLong("steer-layers"), help: "Layers to steer, e.g. 6 or 4-8.")
    var steerLayers = LayerSelection.single(6)
    @Option(name: .customLong("steer-strength"), parsing: .unconditional, help: "Strength as a fraction of each layer's mean residual norm.")
    var steerStrength: Float = 0.1
    @Option(name: .customLong("steer-from"), parsing: .unconditional, help: "Token position where steering starts.")
    var steerFrom: Int = 0
    @Option(name: .customLong("control-vector"),
            help: "A llama.cpp control-vector GGUF (e.g. from `welfare emotions export`), as FILE or FILE:SCALE.")
    var controlVector: String?

    func validate() throws {
        guard steerVector == nil || controlVector == nil else { throw ValidationError("give --steer-vector or --control-vector, not both") }
    }

    func run() async throws {
        guard !prompt.isEmpty else { throw EngineError.emptyPrompt }
        let session = try modelOptions.load()
        let model = session.model
        let text = chat ? try model.applyChatTemplate([.user(prompt)]) : prompt
        var steering: Steering?
        if let steerVector {
            let direction = try NPYArray.read(from: URL(fileURLWithPath: steerVector))
            guard direction.shape.count == 1 else {
                throw EngineError.invalidParameter("steering vector must be 1-D, got shape \(direction.shape)")
            }
            guard direction.values.count == model.embeddingWidth else {
                throw EngineError.vectorWidthMismatch(got: direction.values.count, expected: model.embeddingWidth)
            }
            let layers = try steerLayers.layers(count: model.layerCount)
            steering = try Steering.direction(direction.values, layers: layers,
                                              strength: .fractionOfResidualNorm(steerStrength),
                                              residualNorms: try await session.meanResidualNorms(), fromPosition: steerFrom)
        }
        if let controlVector {
            var path = controlVector, scale: Float = 1
            if let colon = controlVector.lastIndex(of: ":"), let value = Float(controlVector[controlVector.index(after: colon)...]) {
                path = String(controlVector[..<colon])
                scale = value
            }
            steering = try Steering.controlVector(path: path, scale: scale, layerCount: model.layerCount, width: model.embeddingWidth)
            steering?.fromPosition = steerFrom
        }
        let result = try await session.generate(prompt: text, parameters: sampling.parameters, steering: steering) { token in
            FileHandle.standardOutput.write(Data(token.text.utf8))
        }
        print()
        printError("[\(result.tokens.count) tokens, stopped: \(result.stopReason.rawValue)]")
    }
}
