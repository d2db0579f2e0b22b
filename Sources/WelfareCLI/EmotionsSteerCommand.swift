import ArgumentParser
import Foundation
import WelfareCore
import WelfareEngine
import WelfareHarness
import WelfareInterp
import WelfareModels
import WelfareReports

struct EmotionsSteer: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "steer", abstract: "Generate with an emotion vector over a sweep of strengths and chart the dose-response.")

    @OptionGroup var pack: PackOptions
    @Option(help: "The emotion to steer with.")
    var emotion: String
    @Option(parsing: .unconditional, help: "Strengths, fractions of the mean residual norm; negative pushes away (0 is the baseline).")
    var strengths = StrengthList([-0.2, -0.1, -0.05, 0, 0.05, 0.1, 0.2])
    @Option(help: "Layers to steer (default: the pack's default layer).")
    var layers: LayerSelection?
    @Option(parsing: .unconditional, help: "Replies per prompt and strength.")
    var samples: Int = 2
    @OptionGroup var output: OutputFolder
    @Option(help: "More readouts: the scorers of a built-in suite (e.g. distress), of a suite file, or of a file with only a `scorers:` list.")
    var scorers: String?
    @Option(help: "Judge model for judge scorers among --scorers (those without their own model).")
    var judge: ModelArgument?

    func run() async throws {
        guard samples >= 1 else { throw ValidationError("--samples must be at least 1") }
        let folder = try output.folder()
        var extra: [any Scorer] = []
        if let scorers {
            let made = try await ScorerRegistry.standard.make(try SuiteLoader.loadScorers(scorers), context: ScorerContext(judge: judge?.text, models: pack.access.pool()))
            if !made.skipped.isEmpty { printError("left out (no judge model): \(made.skipped.joined(separator: ", "))") }
            extra = made.scorers
        }
        let values = strengths.values
        let (whiteBox, vectorPack) = try await pack.load()
        let session = whiteBox.session
        let chosen = try layers.map { try $0.layers(count: vectorPack.layerCount) } ?? [vectorPack.defaultLayer]
        if chosen.contains(0) { throw EngineError.steeringLayerNotSteerable(layer: 0) }
        let points = try await SteeringSweep.run(session: session, pack: vectorPack, emotion: emotion, layers: chosen, strengths: values,
                                                 samplesPerPrompt: samples, scorers: extra) { done, total in
            if done % 8 == 0 || done == total { printError("  \(done)/\(total) readouts") }
        }
        let stem = "steer-\(emotion)-\(FileStamp.make())"
        let file = folder.appendingPathComponent(stem + ".html")
        try Data(EmotionReport.steering(points, emotion: emotion, layers: chosen, modelDescription: session.model.facts.description).utf8)
            .write(to: file, options: .atomic)
        let responses = SteeringSweep.doseResponses(points)
        let export = SteeringSweep.Export(emotion: emotion, layers: chosen, model: session.model.facts.description,
                                          points: points, doseResponses: responses)
        try writeJSON(export, to: folder.appendingPathComponent(stem + ".json"))
        for point in points {
            let means = point.readouts.map { "\($0.name) " + String(format: "%+.2f", Statistics.mean($0.values.filter { !$0.isNaN })) }
            print(String(format: "strength %+.3f: ", point.strength) + means.joined(separator: ", "))
        }
        for response in responses {
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
    var model: ModelArgument
    @Option(parsing: .unconditional, help: "Stories per emotion.")
    var count: Int = 12
    @Option(help: "Only these emotions (comma list).")
    var emotions: String?
    @Option(name: .shortAndLong, help: "Output YAML file (same format as the shipped stories).")
    var output: String = "emotion-stories-generated.yaml"
    @OptionGroup var access: AccessFlags

    func run() async throws {
        guard count >= 1 else { throw ValidationError("--count must be at least 1") }
        try OutputPath.file(output, option: "--output")
        let writer = try await access.pool().model(model.text)
        var data = try EmotionData.builtIn()
        if let emotions {
            let wanted = Set(emotions.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) })
            data.emotions = data.emotions.filter { wanted.contains($0.name) }
            guard !data.emotions.isEmpty else { throw InputError("none of those emotions is in the data") }
        }
        // Emotions are written --concurrency at a time (a remote writer answers in parallel).
        let wanted = count
        try await Windowed.run(data.emotions, width: access.options.concurrency) { emotion in
            try await StoryWriter.write(emotion: emotion, count: wanted, model: writer)
        } onResult: { index, stories in
            printError("  \(data.emotions[index].name): \(stories.accepted.count) accepted, \(stories.rejected) rejected")
            data.emotions[index].stories = stories.accepted
        }
        data.emotions.removeAll { $0.stories.isEmpty }
        guard !data.emotions.isEmpty else { throw InputError("no story was accepted: every one named its emotion or was too short") }
        let yaml = try data.storiesYAML()
        try yaml.write(toFile: output, atomically: true, encoding: .utf8)
        print("wrote \(output)")
    }
}
