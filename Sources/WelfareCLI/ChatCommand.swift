import ArgumentParser
import Foundation
import WelfareCore
import WelfareEngine

struct ChatCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "chat", abstract: "Talk with a local model; replies stream as they are generated. Empty line or /quit ends.")

    @OptionGroup var modelOptions: LocalModelOptions
    @OptionGroup var sampling: SamplingOptions

    @Option(help: "A system prompt.")
    var system: String?

    func run() async throws {
        let session = try modelOptions.load()
        var messages: [ChatMessage] = system.map { [.system($0)] } ?? []
        printError("chatting with \(session.model.facts.description); an empty line or /quit ends")
        while true {
            FileHandle.standardOutput.write(Data("> ".utf8))
            guard let line = readLine(), !line.isEmpty, line != "/quit" else { break }
            messages.append(.user(line))
            let prompt = try session.model.applyChatTemplate(messages)
            do {
                let reply = try await session.generate(prompt: prompt, parameters: sampling.parameters) { token in
                    FileHandle.standardOutput.write(Data(token.text.utf8))
                }
                print()
                messages.append(.assistant(reply.text))
            } catch EngineError.contextOverflow(let tokens, let length) {
                printError("the conversation (\(tokens) tokens) no longer fits the context of \(length); start a new chat or raise --context")
                messages.removeLast()
            }
        }
    }
}
