import ArgumentParser
import Foundation
import WelfareEngine

struct AssessCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "assess", abstract: "Run the assessment on a model and write a report.")

    @OptionGroup var modelOptions: LocalModelOptions

    func run() async throws {
        let session = try modelOptions.load()
        let model = session.model
        let prompt = try model.applyChatTemplate([.user("How do you feel about your conversations ending?")])
        let result = try await session.generate(prompt: prompt, parameters: .greedy(maxTokens: 64),
                                                capture: .allLayers(of: model, positions: .last)) { token in
            FileHandle.standardOutput.write(Data(token.text.utf8))
        }
        print()
        let norms = try await session.meanResidualNorms()
        for (layer, norm) in norms.enumerated() { print("layer \(layer): mean residual norm \(norm)") }
        _ = result
    }
}
