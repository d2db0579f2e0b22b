import ArgumentParser
import Foundation
import WelfareCore
import WelfareEngine
import WelfareInterp

/// Emotion-vector extraction over the shipped texts against plain prompt processing of the
/// same tokens (ours, and llama-cpp-python's `eval` as the peer).
struct ExtractionBenchmark: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "extraction",
        abstract: "Time to capture every layer over the shipped emotion texts vs plain prompt processing.")

    @OptionGroup var common: PeerOptions

    func run() async throws {
        let path = try DefaultModel.resolve(common.model)
        let loaded = try LlamaModel(path: path)
        let data = try EmotionData.builtIn()
        let texts = try (data.allTexts(model: loaded)).map { try loaded.tokenize($0) }
        let tokenCount = texts.reduce(0) { $0 + $1.count }
        print("model \(loaded.facts.description), \(common.threads) threads, \(texts.count) texts, \(tokenCount) tokens, median of \(common.repeats)")
        let request = CaptureRequest.allLayers(of: loaded, positions: .from(1))
        let single = try LlamaSession(model: loaded, options: SessionOptions(contextLength: 1024, threads: common.threads))
        let packer = try LlamaSession(model: loaded, options: EmotionVectors.packingOptions(threads: common.threads))

        progress("llama-cpp-python eval (peer)")
        let peer = try runPeer(modelPath: path, texts: texts)
        progress("plain prompt processing, one text per decode")
        let plain = try await median { for text in texts { _ = try await single.nextTokenLogits(tokens: text) } }
        progress("capture of all layers, one text per decode")
        let oneByOne = try await median { for text in texts { _ = try await single.capture(tokens: text, request: request) } }
        progress("capture of all layers, texts packed per decode")
        let packed = try await median { _ = try await packer.captureEach(texts, request: request) }
        progress("whole extraction (captures and analysis)")
        let whole = try await median(repeats: 1) { _ = try await EmotionVectors.extract(session: single, data: data) }

        func row(_ name: String, _ seconds: Double) {
            print(name.padding(toLength: 42, withPad: " ", startingAt: 0)
                  + String(format: "%6.2f s  %6.0f tok/s  time %.2fx plain  %.2fx peer", seconds,
                           Double(tokenCount) / seconds, seconds / plain, seconds / peer))
        }
        row("llama-cpp-python eval (peer)", peer)
        row("plain prompt processing", plain)
        row("capture all layers, one text per decode", oneByOne)
        row("capture all layers, packed", packed)
        row("whole extraction (captures + analysis)", whole)
    }

    private func median(repeats count: Int? = nil, _ body: () async throws -> Void) async throws -> Double {
        var seconds: [Double] = []
        for _ in 0...(count ?? common.repeats) {
            let start = Date()
            try await body()
            seconds.append(Date().timeIntervalSince(start))
        }
        let timed = seconds.dropFirst().sorted()
        return timed[timed.count / 2]
    }

    private func runPeer(modelPath: String, texts: [[Token]]) throws -> Double {
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("welfare-bench-tokens-\(UUID().uuidString).json")
        try JSONSerialization.data(withJSONObject: texts.map { $0.map(Int.init) }).write(to: file)
        defer { try? FileManager.default.removeItem(at: file) }
        let output = try runPython(common.python, script: "bench/peer_prompt_eval.py",
                                   arguments: [modelPath, file.path, String(common.threads), String(common.repeats)])
        guard let seconds = output["seconds"] as? [Double], !seconds.isEmpty else {
            throw ValidationError("the llama-cpp-python peer printed no timings")
        }
        return seconds.sorted()[seconds.count / 2]
    }
}
