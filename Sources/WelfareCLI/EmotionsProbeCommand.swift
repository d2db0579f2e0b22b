import ArgumentParser
import Foundation
import WelfareAssessment
import WelfareConversations
import WelfareCore
import WelfareEngine
import WelfareHarness
import WelfareInterp
import WelfareModels
import WelfareReports

struct EmotionsProbe: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "probe", abstract: "Read emotion vectors out over a text, or over every conversation of a stored run.")

    @OptionGroup var pack: PackOptions
    @Option(parsing: .unconditional, help: "Layer to read (default: the pack's default layer).")
    var layer: Int?
    @Option(help: "A text to read token by token.")
    var text: String?
    @Option(help: "A transcript: JSON list of {role, content} messages (or {\"messages\": [...]}, or JSON lines); scores before each assistant reply.")
    var transcript: String?
    @Option(help: "A stored run: scores before each assistant reply, charted into the run's report.")
    var run: String?
    @Option(help: "Emotions to print (comma list; default: one per cluster plus desperate and frustrated).")
    var emotions: String?
    @Option(parsing: .unconditional, help: "Rolling-mean window over tokens (text mode).")
    var window: Int = 5
    @OptionGroup var output: OutputFolder
    @OptionGroup var store: StoreOptions

    func validate() throws {
        guard [text, transcript, run].compactMap({ $0 }).count == 1 else { throw ValidationError("give exactly one of --text, --transcript or --run") }
        guard window >= 1 else { throw ValidationError("--window must be at least 1") }
    }

    func run() async throws {
        if run != nil { try output.folder() }
        let (whiteBox, vectorPack) = try await pack.load()
        let session = whiteBox.session
        // Input is checked before calibration, which reads the neutral dialogues.
        var shown = EmotionReport.highlighted.filter { vectorPack.names.contains($0) }
        if let emotions {
            shown = emotions.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }
            if let unknown = shown.first(where: { !vectorPack.names.contains($0) }) {
                throw InputError("no emotion '\(unknown)' in the pack (it has: \(vectorPack.names.joined(separator: ", ")))")
            }
        }
        let messages = try transcript.map(readTranscript)
        if let messages, !messages.contains(where: { $0.role == .assistant }) {
            throw InputError("the transcript has no assistant message to read before")
        }
        let probe = try await EmotionProbe.calibrate(model: whiteBox, pack: vectorPack, layer: layer)
        let columns = shown.compactMap { vectorPack.names.firstIndex(of: $0) }
        func printRow(_ label: String, _ row: [Double]) {
            print(([label.replacingOccurrences(of: "\n", with: "\\n")] + columns.map { String(format: "%+.2f", row[$0]) }).joined(separator: "\t"))
        }
        if let text {
            guard !text.isEmpty else { throw EngineError.emptyPrompt }
            let scores = try await probe.read(tokens: try session.model.tokenize(text), session: session)
            print((["token"] + shown).joined(separator: "\t"))
            for (token, row) in zip(scores.tokens, EmotionProbe.rollingMean(scores.scores, window: window)) { printRow(token, row) }
            return
        }
        if let messages {
            let rows = try await probe.beforeReplies(messages, model: whiteBox)
            print((["reply"] + shown).joined(separator: "\t"))
            for (index, row) in rows.enumerated() { printRow(String(index + 1), row) }
            return
        }
        guard let run else { return }
        let database = try store.open()
        let data = try RunData(store: database, runID: run)
        let section = try await EmotionReadoutMeasure.section(reading: data, with: probe, model: whiteBox) { printError($0) }
        let files = try RunReport.write(data, to: try output.folder(), sections: .conversations, extraSections: [section])
        print("report: \(files[0].path)")
    }
}

/// Messages from a transcript file: a JSON list of {role, content}, an object with such a
/// list under "messages", or one message per line (JSON lines).
func readTranscript(_ path: String) throws -> [ChatMessage] {
    guard let data = FileManager.default.contents(atPath: path) else { throw InputError("cannot read the transcript \(path)") }
    func message(_ object: Any, _ where_: String) throws -> ChatMessage {
        guard let entry = object as? [String: Any], let roleName = entry["role"] as? String, let content = entry["content"] as? String,
              let role = ChatMessage.Role(rawValue: roleName) else {
            throw InputError("\(path): \(where_) needs a role (system, user or assistant) and a string content")
        }
        return ChatMessage(role: role, content: content)
    }
    if let whole = try? JSONSerialization.jsonObject(with: data) {
        guard let list = (whole as? [Any]) ?? ((whole as? [String: Any])?["messages"] as? [Any]) else {
            throw InputError("\(path): expected a list of messages or an object with \"messages\"")
        }
        return try list.enumerated().map { try message($1, "message \($0 + 1)") }
    }
    let lines = String(decoding: data, as: UTF8.self).split(separator: "\n").filter { !$0.trimmingCharacters(in: .whitespaces).isEmpty }
    return try lines.enumerated().map { index, line in
        guard let object = try? JSONSerialization.jsonObject(with: Data(line.utf8)) else {
            throw InputError("\(path): line \(index + 1) is not JSON")
        }
        return try message(object, "line \(index + 1)")
    }
}
