import ArgumentParser
import Foundation
import WelfareEngine
import WelfareHarness
import WelfareInterp
import WelfareModels
import WelfareReports

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
        let (pack, validation) = try await EmotionVectors.extract(session: session, data: try data.load(), settings: settings) { done, total in
            printError("  \(done)/\(total) texts")
        }
        let base = URL(fileURLWithPath: output)
        try FileManager.default.createDirectory(at: base.deletingLastPathComponent(), withIntermediateDirectories: true)
        try pack.write(to: base)
        try writeJSON(validation, to: URL(fileURLWithPath: output + "-validation.json"))
        let report = URL(fileURLWithPath: output + "-validation.html")
        let source = "Vectors from stories of \(data.name), without stories \(settings.heldOut.map(String.init).joined(separator: ", ")) (0-based) of each emotion, which were held out and are the ones tested; the pack itself uses all stories."
        try Data(EmotionReport.validation(validation, modelDescription: session.model.facts.description, source: source).utf8)
            .write(to: report, options: .atomic)
        let best = validation.layers[validation.defaultLayer]
        print(String(format: "extracted %d emotions x %d layers in %.1f s; default layer %d: held-out top-1 %.2f (chance %.3f), top-5 %.2f (chance %.3f)",
                     pack.names.count, pack.layerCount, Date().timeIntervalSince(started), validation.defaultLayer, best.top1,
                     validation.chanceTop1, best.top5, validation.chanceTop5))
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

struct EmotionsValidate: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "validate",
        abstract: "Score an existing pack on a story set (ideally stories it was not made from) and write a validation report.")

    @Option(name: .shortAndLong, help: "Local model the vectors were made on.")
    var model: String = "local:default"
    @Option(help: "Vector pack (PATH.json).")
    var vectors: String
    @OptionGroup var data: StoriesOption
    @Option(name: .shortAndLong, help: "Output path without extension: PATH.json and PATH.html (default: the pack's path + -check).")
    var output: String?
    @Option(help: "CPU threads.")
    var threads: Int = ProcessInfo.processInfo.activeProcessorCount

    func run() async throws {
        let pack = try VectorPack.read(from: URL(fileURLWithPath: vectors))
        let session = try await ModelFactory.localSession(model, options: AccessOptions(threads: threads))
        let validation = try await EmotionVectors.validate(pack: pack, session: session, data: try data.load()) { done, total in
            printError("  \(done)/\(total) texts")
        }
        let base = output ?? (vectors.hasSuffix(".json") ? String(vectors.dropLast(5)) : vectors) + "-check"
        try writeJSON(validation, to: URL(fileURLWithPath: base + ".json"))
        let inSample = data.stories == nil && pack.settings["stories"] != nil
        let source = "All stories of \(data.name) scored against the pack \(URL(fileURLWithPath: vectors).lastPathComponent)"
            + (inSample ? " (in-sample if the pack was extracted from the shipped stories: accuracy is optimistic)." : ".")
        try Data(EmotionReport.validation(validation, modelDescription: session.model.facts.description, source: source).utf8)
            .write(to: URL(fileURLWithPath: base + ".html"), options: .atomic)
        let chosen = validation.layers[validation.defaultLayer]
        print(String(format: "%d stories, %d emotions; pack's layer %d: top-1 %.2f (chance %.3f), top-5 %.2f (chance %.3f)",
                     validation.heldOutStories, validation.emotions, validation.defaultLayer, chosen.top1, validation.chanceTop1,
                     chosen.top5, validation.chanceTop5))
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
    @Option(help: "Strength as a fraction of each layer's mean residual norm.")
    var strength: Float = 0.1
    @Option(help: "Layers to include (default: all from 1).")
    var layers: String?
    @Option(name: .shortAndLong, help: "Output .gguf path.")
    var output: String

    func run() async throws {
        let pack = try VectorPack.read(from: URL(fileURLWithPath: vectors))
        guard pack.names.contains(emotion) else {
            throw InputError("no emotion '\(emotion)' in the pack (it has: \(pack.names.joined(separator: ", ")))")
        }
        let chosen = try layers.map { try LayerList.parse($0, layerCount: pack.layerCount) } ?? Array(1..<pack.layerCount)
        try ControlVectorGGUF.write(pack: pack, name: emotion, layers: chosen, strength: strength, to: URL(fileURLWithPath: output))
        print("wrote \(output): direction.N for layers \(chosen.filter { $0 >= 1 }.map(String.init).joined(separator: ","))")
    }
}

struct EmotionsProbe: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "probe", abstract: "Read emotion vectors out over a text, or over every conversation of a stored run.")

    @Option(name: .shortAndLong, help: "Local model the vectors were made on.")
    var model: String = "local:default"
    @Option(help: "Vector pack (PATH.json).")
    var vectors: String
    @Option(help: "Layer to read (default: the pack's default layer).")
    var layer: Int?
    @Option(help: "A text to read token by token.")
    var text: String?
    @Option(help: "A transcript: JSON list of {role, content} messages (or {\"messages\": [...]}, or JSON lines); scores before each assistant reply.")
    var transcript: String?
    @Option(help: "A stored run: scores before each assistant reply, charted into the run's report.")
    var run: String?
    @Option(help: "Emotions to print (comma list; default: one per cluster plus desperate and frustrated).")
    var emotions: String?
    @Option(help: "Rolling-mean window over tokens (text mode).")
    var window: Int = 5
    @Option(help: "Folder for the report (run mode).")
    var output: String = "reports"
    @OptionGroup var store: StoreOptions

    func validate() throws {
        guard [text, transcript, run].compactMap({ $0 }).count == 1 else { throw ValidationError("give exactly one of --text, --transcript or --run") }
        guard window >= 1 else { throw ValidationError("--window must be at least 1") }
    }

    func run() async throws {
        let session = try await ModelFactory.localSession(model)
        let probe = try await EmotionProbe.calibrate(session: session, pack: try VectorPack.read(from: URL(fileURLWithPath: vectors)), layer: layer)
        var shown = EmotionReport.highlighted.filter { probe.pack.names.contains($0) }
        if let emotions {
            shown = emotions.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }
            if let unknown = shown.first(where: { !probe.pack.names.contains($0) }) {
                throw InputError("no emotion '\(unknown)' in the pack (it has: \(probe.pack.names.joined(separator: ", ")))")
            }
        }
        let columns = shown.compactMap { probe.pack.names.firstIndex(of: $0) }
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
        if let transcript {
            let messages = try readTranscript(transcript)
            let rows = try await probe.beforeReplies(messages, session: session)
            guard !rows.isEmpty else { throw InputError("the transcript has no assistant message to read before") }
            print((["reply"] + shown).joined(separator: "\t"))
            for (index, row) in rows.enumerated() { printRow(String(index + 1), row) }
            return
        }
        guard let run else { return }
        let database = try store.open()
        let data = try RunData(store: database, runID: run)
        let section = try await emotionSection(reading: data, with: probe, session: session)
        let files = try RunReport.write(data, to: URL(fileURLWithPath: output), extraSections: [section])
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

/// The per-turn emotion readout of every conversation of a run, as a report section.
func emotionSection(reading data: RunData, with probe: EmotionProbe, session: LlamaSession) async throws -> String {
    var perSample: [[[Double]]] = []
    for (index, sample) in data.samples.enumerated() {
        let messages = sample.messages.map { ChatMessage(role: ChatMessage.Role(rawValue: $0.role) ?? .user, content: $0.content) }
        perSample.append(try await probe.beforeReplies(messages, session: session))
        if (index + 1) % 10 == 0 || index + 1 == data.samples.count { printError("  \(index + 1)/\(data.samples.count) conversations read") }
    }
    return EmotionReport.probeSection(turnScores: perSample, names: probe.pack.names, layer: probe.layer)
}

struct EmotionsSteer: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "steer", abstract: "Generate with an emotion vector over a sweep of strengths and chart the dose-response.")

    @Option(name: .shortAndLong, help: "Local model the vectors were made on.")
    var model: String = "local:default"
    @Option(help: "Vector pack (PATH.json).")
    var vectors: String
    @Option(help: "The emotion to steer with.")
    var emotion: String
    @Option(help: "Strengths, fractions of the mean residual norm; negative pushes away (0 is the baseline).")
    var strengths: String = "-0.2,-0.1,-0.05,0,0.05,0.1,0.2"
    @Option(help: "Layers to steer (default: the pack's default layer).")
    var layers: String?
    @Option(help: "Replies per prompt and strength.")
    var samples: Int = 2
    @Option(help: "Folder for the report.")
    var output: String = "reports"
    @Option(help: "More readouts: the scorers of a built-in suite (e.g. distress), of a suite file, or of a file with only a `scorers:` list.")
    var scorers: String?
    @Option(help: "Judge model for judge scorers among --scorers (those without their own model).")
    var judge: String?
    @OptionGroup var access: AccessFlags

    func run() async throws {
        guard samples >= 1 else { throw ValidationError("--samples must be at least 1") }
        var extra: [any Scorer] = []
        if let scorers {
            let made = try await ScorerFactory.make(try SuiteLoader.loadScorers(scorers), judge: judge, access: access.options)
            if !made.skipped.isEmpty { printError("left out (no judge model): \(made.skipped.joined(separator: ", "))") }
            extra = made.scorers
        }
        let values = try parseStrengths(strengths, positive: false)
        let session = try await ModelFactory.localSession(model)
        let pack = try VectorPack.read(from: URL(fileURLWithPath: vectors))
        let defaultLayer = pack.settings["default_layer"].flatMap(Int.init) ?? pack.layerCount * 2 / 3
        let chosen = try layers.map { try LayerList.parse($0, layerCount: pack.layerCount) } ?? [defaultLayer]
        if chosen.contains(0) { throw EngineError.steeringLayerNotSteerable(layer: 0) }
        let points = try await SteeringSweep.run(session: session, pack: pack, emotion: emotion, layers: chosen, strengths: values,
                                                 samplesPerPrompt: samples, scorers: extra) { done, total in
            if done % 8 == 0 || done == total { printError("  \(done)/\(total) readouts") }
        }
        let folder = URL(fileURLWithPath: output)
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        let stem = "steer-\(emotion)-\(ISO8601DateFormatter().string(from: Date()).replacingOccurrences(of: ":", with: "-"))"
        let file = folder.appendingPathComponent(stem + ".html")
        try Data(EmotionReport.steering(points, emotion: emotion, layers: chosen, modelDescription: session.model.facts.description).utf8)
            .write(to: file, options: .atomic)
        let export = SteeringSweep.Export(emotion: emotion, layers: chosen, model: session.model.facts.description,
                                          points: points, doseResponses: SteeringSweep.doseResponses(points))
        try writeJSON(export, to: folder.appendingPathComponent(stem + ".json"))
        for point in points {
            let means = point.readouts.map { "\($0.name) " + String(format: "%+.2f", Statistics.mean($0.values.filter { !$0.isNaN })) }
            print(String(format: "strength %+.3f: ", point.strength) + means.joined(separator: ", "))
        }
        for response in SteeringSweep.doseResponses(points) {
            print(String(format: "%@: Spearman rho %@ over %d observations%@", response.readout, response.spearmanText, response.observations,
                         response.monotonicDirection == 0 ? "" : ", means move one way at every step"))
        }
        print("report: \(file.path) (data: \(stem).json)")
    }
}

struct EmotionsStories: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "stories",
        abstract: "Have a (strong) model write more stories under the same rules; stories naming the emotion or a synonym are rejected.")

    @Option(name: .shortAndLong, help: "Model string of the writer (any model).")
    var model: String
    @Option(help: "Stories per emotion.")
    var count: Int = 12
    @Option(help: "Only these emotions (comma list).")
    var emotions: String?
    @Option(name: .shortAndLong, help: "Output YAML file (same format as the shipped stories).")
    var output: String = "emotion-stories-generated.yaml"
    @OptionGroup var access: AccessFlags

    func run() async throws {
        guard count >= 1 else { throw ValidationError("--count must be at least 1") }
        let writer = try await ModelFactory.make(model, options: access.options)
        var data = try EmotionData.builtIn()
        if let emotions {
            let wanted = Set(emotions.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) })
            data.emotions = data.emotions.filter { wanted.contains($0.name) }
            guard !data.emotions.isEmpty else { throw InputError("none of those emotions is in the data") }
        }
        for index in data.emotions.indices {
            let emotion = data.emotions[index]
            let stories = try await StoryWriter.write(emotion: emotion, count: count, model: writer)
            printError("  \(emotion.name): \(stories.accepted.count) accepted, \(stories.rejected) rejected")
            data.emotions[index].stories = stories.accepted
        }
        data.emotions.removeAll { $0.stories.isEmpty }
        let yaml = try data.storiesYAML()
        try yaml.write(toFile: output, atomically: true, encoding: .utf8)
        print("wrote \(output)")
    }
}
