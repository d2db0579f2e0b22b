import ArgumentParser
import Foundation
import WelfareCore
import WelfareEngine

struct InspectCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "inspect", abstract: "Print a model's facts.")

    @Argument(help: "GGUF model: a path, local:PATH, or local:default.")
    var model = ModelArgument("local:default")

    @Flag(help: "Print JSON, including all GGUF metadata.")
    var json = false

    func run() async throws {
        let loaded = try LlamaModel(path: model.localPath())
        var facts = loaded.facts
        if json {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
            print(String(decoding: try encoder.encode(facts), as: UTF8.self))
            return
        }
        facts.metadata = facts.metadata.filter { !$0.key.hasPrefix("tokenizer.ggml.") }
        print("""
            path:            \(facts.path)
            description:     \(facts.description)
            architecture:    \(facts.architecture)
            layers:          \(facts.layerCount)
            width:           \(facts.embeddingWidth)
            context (train): \(facts.trainedContextLength)
            vocabulary:      \(facts.vocabularySize)
            parameters:      \(facts.parameterCount)
            size:            \(facts.sizeBytes) bytes
            chat template:   \(facts.chatTemplate == nil ? "none" : "yes (\(facts.chatTemplate!.count) chars)")
            """)
        for (key, value) in facts.metadata.sorted(by: { $0.key < $1.key }) where key != "tokenizer.chat_template" {
            print("  \(key) = \(value.count > 80 ? String(value.prefix(77)) + "..." : value)")
        }
    }
}
