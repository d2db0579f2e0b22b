import Foundation
import Testing
import WelfareCore
@testable import WelfareEngine

/// Runs the real `welfare` binary: bad input ends with one line on stderr naming the
/// problem and a non-zero exit, never a crash.
@Suite(.serialized) struct CommandLineTests {
    struct Outcome {
        var status: Int32
        var stdout: String
        var stderr: String
    }

    static var binary: URL {
        let environment = ProcessInfo.processInfo.environment["WELFARE_BIN"]
        return environment.map(URL.init(fileURLWithPath:))
            ?? Fixtures.packageRoot.appendingPathComponent(".build/debug/welfare")
    }

    func run(_ arguments: [String]) throws -> Outcome {
        let binary = Self.binary
        guard FileManager.default.isExecutableFile(atPath: binary.path) else {
            throw EngineError.invalidParameter("\(binary.path) is missing: build with `swift build` before testing")
        }
        let process = Process()
        process.executableURL = binary
        process.arguments = arguments
        process.currentDirectoryURL = Fixtures.packageRoot
        let out = Pipe(), err = Pipe()
        process.standardOutput = out
        process.standardError = err
        try process.run()
        let stdout = out.fileHandleForReading.readDataToEndOfFile()
        let stderr = err.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return Outcome(status: process.terminationStatus, stdout: String(decoding: stdout, as: UTF8.self),
                       stderr: String(decoding: stderr, as: UTF8.self))
    }

    @Test func everyCommandDeclaresItsOptionsOnce() throws {
        // A debug build checks each command's declaration when it parses (two options of
        // one name, e.g. from two option groups, fail every call). Walk the whole tree from
        // the top-level help.
        var pending: [[String]] = [[]]
        var seen = 0
        while let path = pending.popLast() {
            let outcome = try run(path + ["--help"])
            #expect(outcome.status == 0, "welfare \(path.joined(separator: " ")): \(outcome.stdout)\(outcome.stderr)")
            seen += 1
            guard let section = outcome.stdout.components(separatedBy: "SUBCOMMANDS:").dropFirst().first else { continue }
            for line in section.split(separator: "\n") where line.hasPrefix("  ") && !line.hasPrefix("   ") {
                if let name = line.split(separator: " ").first, !line.contains("See 'welfare") { pending.append(path + [String(name)]) }
            }
        }
        #expect(seen > 20, "the walk found \(seen) commands")
    }

    /// `usageHint`: option validation errors are followed by ArgumentParser's usage lines.
    func expectCleanFailure(_ arguments: [String], mentions phrase: String, usageHint: Bool = false) throws {
        let outcome = try run(arguments)
        #expect(outcome.status != 0, "\(arguments) exited 0")
        #expect(outcome.status < 128, "\(arguments) died from a signal")
        let lines = outcome.stderr.split(separator: "\n")
        if usageHint {
            #expect(lines.dropFirst().first?.contains("Usage:") == true, "\(outcome.stderr)")
        } else {
            #expect(lines.count == 1, "\(arguments) printed \(lines.count) lines: \(outcome.stderr)")
        }
        #expect(lines.first?.contains(phrase) == true, "\(arguments): '\(outcome.stderr)' lacks '\(phrase)'")
    }

    @Test func badModelFiles() throws {
        let directory = try Fixtures.temporaryDirectory()
        try expectCleanFailure(["inspect", "/nonexistent/x.gguf"], mentions: "model file not found")
        let text = directory.appendingPathComponent("x.gguf")
        try Data("hello".utf8).write(to: text)
        try expectCleanFailure(["generate", "-m", text.path, "-p", "hi"], mentions: "not a GGUF model file")
        let source = try FileHandle(forReadingFrom: URL(fileURLWithPath: DefaultModel.path()))
        let head = try source.read(upToCount: 4 << 20) ?? Data()
        try source.close()
        let truncated = directory.appendingPathComponent("truncated.gguf")
        try head.write(to: truncated)
        try expectCleanFailure(["inspect", truncated.path], mentions: "could not load model")
    }

    @Test func badRequests() throws {
        let directory = try Fixtures.temporaryDirectory()
        try expectCleanFailure(["generate", "-p", ""], mentions: "the prompt is empty")
        try expectCleanFailure(["capture", "-p", "hi", "--layers", "40", "-o", directory.appendingPathComponent("a.npy").path],
                               mentions: "layer 40 is out of range")
        let vector = directory.appendingPathComponent("v.npy")
        try NPYArray(shape: [10], values: [Float](repeating: 1, count: 10)).write(to: vector)
        try expectCleanFailure(["generate", "-p", "hi", "--steer-vector", vector.path], mentions: "vector has 10 values")
        let notNumpy = directory.appendingPathComponent("w.npy")
        try Data("nope".utf8).write(to: notNumpy)
        try expectCleanFailure(["generate", "-p", "hi", "--steer-vector", notNumpy.path], mentions: "not a float32 .npy")
        try expectCleanFailure(["generate", "--context", "16", "-p", String(repeating: "word ", count: 40)],
                               mentions: "context overflow")
        try expectCleanFailure(["generate", "-p", "hi", "--top-p", "0"], mentions: "top-p", usageHint: true)
    }

    @Test func captureWritesArrayAndSidecar() throws {
        let directory = try Fixtures.temporaryDirectory()
        let output = directory.appendingPathComponent("act.npy")
        let outcome = try run(["capture", "-p", "The sea was calm", "--layers", "2,5-6", "--generate", "3", "-o", output.path])
        #expect(outcome.status == 0, "\(outcome.stderr)")
        let array = try NPYArray.read(from: output)
        let sidecarData = try Data(contentsOf: directory.appendingPathComponent("act.json"))
        let sidecar = try #require(try JSONSerialization.jsonObject(with: sidecarData) as? [String: Any])
        let positions = try #require(sidecar["positions"] as? [Int])
        let tokens = try #require(sidecar["tokens"] as? [Int])
        #expect(sidecar["layers"] as? [Int] == [2, 5, 6])
        #expect(array.shape == [3, positions.count, 640])
        #expect(tokens.count == positions.count)
        let promptCount = try #require(sidecar["promptTokenCount"] as? Int)
        #expect(positions.count == promptCount + 2, "prompt plus the generated tokens fed back")
    }

    @Test func inspectPrintsFacts() throws {
        let outcome = try run(["inspect", "--json"])
        #expect(outcome.status == 0)
        let facts = try JSONDecoder().decode(ModelFacts.self, from: Data(outcome.stdout.utf8))
        #expect(facts.layerCount == 18)
        #expect(facts.architecture == "gemma3")
    }
}
