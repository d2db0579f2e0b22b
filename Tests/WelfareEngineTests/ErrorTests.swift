import Foundation
import Testing
import WelfareCore
@testable import WelfareEngine

/// Bad input must give a precise EngineError, never a crash or a llama.cpp abort.
@Suite(.serialized) struct EngineErrorTests {
    @Test func missingFile() {
        #expect(throws: EngineError.modelFileMissing(path: "/nonexistent/model.gguf")) {
            try LlamaModel(path: "/nonexistent/model.gguf")
        }
    }

    @Test func directoryAndForeignFiles() throws {
        let directory = try Fixtures.temporaryDirectory()
        #expect(throws: EngineError.notGGUF(path: directory.path, reason: "it is a directory")) {
            try LlamaModel(path: directory.path)
        }
        let text = directory.appendingPathComponent("notes.gguf")
        try Data("these are not weights\n".utf8).write(to: text)
        #expect(throws: EngineError.notGGUF(path: text.path, reason: "missing GGUF magic bytes")) {
            try LlamaModel(path: text.path)
        }
        let tiny = directory.appendingPathComponent("tiny.gguf")
        try Data("GG".utf8).write(to: tiny)
        #expect(throws: EngineError.notGGUF(path: tiny.path, reason: "only 2 bytes long")) {
            try LlamaModel(path: tiny.path)
        }
    }

    @Test func truncatedAndCorruptGGUF() throws {
        let directory = try Fixtures.temporaryDirectory()
        let source = try FileHandle(forReadingFrom: URL(fileURLWithPath: DefaultModel.path()))
        let head = try source.read(upToCount: 4 << 20) ?? Data()
        try source.close()
        let truncated = directory.appendingPathComponent("truncated.gguf")
        try head.write(to: truncated)
        do {
            _ = try LlamaModel(path: truncated.path)
            Issue.record("a truncated model loaded")
        } catch let error as EngineError {
            guard case .modelLoadFailed(let path, let detail) = error else { Issue.record("wrong error \(error)"); return }
            #expect(path == truncated.path)
            #expect(!detail.isEmpty && !detail.contains("\n"))
        }
        let corrupt = directory.appendingPathComponent("corrupt.gguf")
        try (Data("GGUF".utf8) + Data([3, 0, 0, 0]) + Data(repeating: 0xFF, count: 64)).write(to: corrupt)
        #expect(throws: EngineError.self) { try LlamaModel(path: corrupt.path) }
    }

    @Test func promptErrors() async throws {
        let model = try Fixtures.model
        let session = try LlamaSession(model: model, options: SessionOptions(contextLength: 32))
        await #expect(throws: EngineError.emptyPrompt) { try await session.generate(prompt: "") }
        await #expect(throws: EngineError.emptyPrompt) { try await session.generate(tokens: []) }
        let long = try model.tokenize(String(repeating: "many words here ", count: 20))
        await #expect(throws: EngineError.contextOverflow(tokens: long.count, contextLength: 32)) {
            try await session.generate(tokens: long)
        }
        await #expect(throws: EngineError.self) { try await session.generate(tokens: [2, -5]) }
        await #expect(throws: EngineError.self) {
            try await session.generate(tokens: [2], parameters: GenerationParameters(topP: 0))
        }
        // Generation that reaches the end of the context stops cleanly.
        let short = try model.tokenize("Once upon a time")
        let filled = try await session.generate(tokens: short, parameters: .greedy(maxTokens: 100))
        #expect(filled.stopReason == .contextFull || filled.stopReason == .endOfGeneration)
        #expect(short.count + filled.tokens.count <= 32)
    }

    @Test func layerAndVectorErrors() async throws {
        let model = try Fixtures.model
        let session = try Fixtures.session()
        let tokens = try model.tokenize("Hello")
        await #expect(throws: EngineError.layerOutOfRange(layer: 18, layerCount: 18)) {
            try await session.capture(tokens: tokens, request: CaptureRequest(layers: [18]))
        }
        await #expect(throws: EngineError.positionOutOfRange(position: 99, tokenCount: tokens.count)) {
            try await session.capture(tokens: tokens, request: CaptureRequest(layers: [1], positions: .list([99])))
        }
        await #expect(throws: EngineError.vectorWidthMismatch(got: 10, expected: 640)) {
            try await session.nextTokenLogits(tokens: tokens, steering: Steering(vectors: [4: [Float](repeating: 1, count: 10)]))
        }
        await #expect(throws: EngineError.steeringLayerNotSteerable(layer: 0)) {
            try await session.nextTokenLogits(tokens: tokens, steering: Steering(vectors: [0: [Float](repeating: 1, count: 640)]))
        }
        await #expect(throws: EngineError.layerOutOfRange(layer: 30, layerCount: 18)) {
            try await session.nextTokenLogits(tokens: tokens, steering: Steering(vectors: [30: [Float](repeating: 1, count: 640)]))
        }
        #expect(throws: EngineError.self) {
            try Steering.direction([Float](repeating: 0, count: 640), layers: [3], strength: .absolute(1))
        }
        let pair = try LlamaSession(model: model, options: SessionOptions(contextLength: 64, sequences: 2))
        await #expect(throws: EngineError.tooManySequences(requested: 3, capacity: 2)) {
            try await pair.generateBatch(prompts: [tokens, tokens, tokens])
        }
        // After all these errors the session still works.
        let generation = try await session.generate(tokens: tokens, parameters: .greedy(maxTokens: 3))
        #expect(generation.tokens.count == 3)
    }

    @Test func npyRoundTripAndRejects() throws {
        let directory = try Fixtures.temporaryDirectory()
        let url = directory.appendingPathComponent("a.npy")
        let array = NPYArray(shape: [2, 3], values: [1, 2, 3, 4, 5, 6])
        try array.write(to: url)
        #expect(try NPYArray.read(from: url) == array)
        let bad = directory.appendingPathComponent("bad.npy")
        try Data("not numpy".utf8).write(to: bad)
        #expect(throws: EngineError.self) { try NPYArray.read(from: bad) }
        var truncated = try Data(contentsOf: url)
        truncated.removeLast(4)
        try truncated.write(to: bad)
        #expect(throws: EngineError.self) { try NPYArray.read(from: bad) }
    }
}
