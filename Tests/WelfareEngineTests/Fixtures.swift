import Foundation
import Testing
import WelfareCore
@testable import WelfareEngine

/// The real default model, loaded once for the whole test run (scripts/test.sh installs it).
enum Fixtures {
    private static let loaded = Result { try LlamaModel(path: DefaultModel.path()) }
    static var model: LlamaModel { get throws { try loaded.get() } }

    static func session(contextLength: Int = 1024, sequences: Int = 1, batchSize: Int = 512) throws -> LlamaSession {
        try LlamaSession(model: try model, options: SessionOptions(contextLength: contextLength, sequences: sequences, batchSize: batchSize))
    }

    static let packageRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent()

    static func temporaryDirectory() throws -> URL {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("welfare-tests-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        return url
    }

    static let prompts = [
        "The old lighthouse keeper climbed the stairs and",
        "Water boils at a lower temperature on mountains because",
        "Three things every beginner gardener should know:",
        "Once upon a time, in a village by the sea,",
    ]
}
