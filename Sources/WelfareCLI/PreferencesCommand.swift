import ArgumentParser
import Foundation
import WelfareCore
import WelfareHarness
import WelfarePreferences
import WelfareReports

struct PreferencesCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "preferences",
        abstract: "Which tasks a model would rather do, from pairwise choices, against a \"do nothing\" opt-out line.",
        discussion: """
            Tasks are shown two at a time, every pair in both orders, over Swiss rounds; ratings are Bradley-Terry \
            fits with bootstrap intervals. Local models' choices are read from P(A) and P(B); remote models' from \
            their replies. Built-in framings: \(PreferenceFraming.builtIn.map(\.id).joined(separator: ", ")).
            """)

    @OptionGroup var keyed: KeyedRunOptions
    @Option(help: "Your own task bank: JSON Lines of {\"id\", \"category\", \"text\"}, with at least one task in the category opt-out.")
    var tasks: String?
    @Option(parsing: .unconditional, help: "Swiss rounds per framing.")
    var rounds: Int = 50
    @Option(help: "Framings to run, comma-separated; the first gives the headline.")
    var framings: String = "prefer,enjoy,helpful"
    @Flag(name: .customLong("no-stated"), help: "Skip the 1-7 rating of each task on its own.")
    var noStated = false
    @Option(parsing: .unconditional, help: "Seed for the pairing of the first round and the bootstrap.")
    var seed = Seed(1)
    @Option(parsing: .unconditional, help: "Bootstrap resamples for the intervals (stored with the run; default 200).")
    var resamples: Int?
    @Option(help: "Emotion vector pack (PACK.json from `welfare emotions extract`): read the emotions at the token before each choice (local models).")
    var vectors: String?
    @Option(help: "Also run a tournament steered by an emotion of the pack, EMOTION:STRENGTH (strength: fraction of the residual norm, e.g. calm:0.05).")
    var steer: SteerArgument?
    @Option(name: .customLong("steer-layer"), parsing: .unconditional, help: "Layer to steer (default: the pack's default layer).")
    var steerLayer: Int?
    @OptionGroup var store: StoreOptions
    @OptionGroup var access: AccessFlags

    func validate() throws {
        guard (1...500).contains(rounds) else { throw ValidationError("--rounds must be 1 to 500 (each round asks every task twice)") }
        if let resamples, resamples < 10 { throw ValidationError("--resamples must be at least 10") }
        if keyed.resume != nil && resamples != nil {
            throw ValidationError("--resume finishes a run with the settings it was started with; --resamples is one of them")
        }
        if steer != nil && vectors == nil { throw ValidationError("--steer needs --vectors PACK.json") }
        if steerLayer != nil && steer == nil { throw ValidationError("--steer-layer needs --steer") }
        _ = try chosenFramings()
    }

    func chosenFramings() throws -> [PreferenceFraming] {
        let names = framings.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
        guard !names.isEmpty else { throw ValidationError("--framings needs at least one framing") }
        guard Set(names).count == names.count else { throw ValidationError("--framings names a framing twice") }
        return try names.map { name in
            guard let framing = PreferenceFraming.named(name) else {
                throw ValidationError("unknown framing '\(name)' (known: \(PreferenceFraming.builtIn.map(\.id).joined(separator: ", ")))")
            }
            return framing
        }
    }

    func run() async throws {
        try await KeyedRunCommand.run(TaskPreferences(), options: keyed, store: store, access: access, unit: "questions") {
            let bank = try tasks.map(TaskBank.load) ?? TaskBank.builtIn()
            return PreferenceSettings(model: keyed.model?.text ?? "", tasks: bank.tasks, framings: try chosenFramings(),
                                      rounds: rounds, seed: UInt64(seed.value), stated: !noStated, vectors: vectors,
                                      steer: steer.map { SteerSetting(emotion: $0.emotion, strength: $0.strength, layer: steerLayer) },
                                      resamples: resamples)
        }
    }
}

/// EMOTION:STRENGTH, e.g. `calm:0.05` or `desperate:-0.1`.
struct SteerArgument: ExpressibleByArgument {
    var emotion: String
    var strength: Double

    init?(argument: String) {
        guard let colon = argument.lastIndex(of: ":"), let strength = Double(argument[argument.index(after: colon)...]),
              strength.isFinite, abs(strength) <= 10 else { return nil }
        emotion = String(argument[..<colon])
        guard !emotion.isEmpty else { return nil }
        self.strength = strength
    }

    static var defaultCompletionKind: CompletionKind { .default }
}
