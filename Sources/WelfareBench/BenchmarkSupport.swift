import ArgumentParser
import Foundation
import WelfareCore
import WelfareModels

/// Options every benchmark against llama-cpp-python shares.
struct PeerOptions: ParsableArguments {
    @Option(help: "GGUF model (default: the embedded Gemma 3 270M).")
    var model: String = "local:default"
    @Option(help: "Threads for both engines.")
    var threads: Int = ProcessInfo.processInfo.activeProcessorCount
    @Option(help: "Timed runs per measurement (medians are reported; one warm-up run is dropped).")
    var repeats: Int = 3
    @Option(help: "Python with llama-cpp-python installed (the peer).")
    var python: String = ".welfare/python/bin/python"

    func validate() throws {
        guard threads >= 1, repeats >= 1 else { throw ValidationError("need --threads >= 1 and --repeats >= 1") }
    }
}

/// The programs a benchmark runs as whole commands.
struct ToolPaths: ParsableArguments {
    @Option(help: "Python with llama-cpp-python (and, for the harness benchmark, inspect-ai) installed.")
    var python: String = ".welfare/python/bin/python"
    @Option(help: "The welfare binary to time.")
    var welfare: String = ".build/release/welfare"
}

func progress(_ step: String) {
    FileHandle.standardError.write(Data("  measuring: \(step)...\n".utf8))
}

/// Runs a peer script (a path under the package root) and parses the one JSON object it prints.
func runPython(_ python: String, script: String, arguments: [String]) throws -> [String: Any] {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: python)
    process.arguments = [packageRoot.appendingPathComponent(script).path] + arguments
    let output = Pipe()
    process.standardOutput = output
    do { try process.run() } catch {
        throw ValidationError("cannot start the peer with \(python): run scripts/setup.sh first")
    }
    let data = output.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    guard process.terminationStatus == 0, let object = try? JSONSerialization.jsonObject(with: data) as? [String: Any] else {
        throw ValidationError("the llama-cpp-python peer \(script) failed (exit \(process.terminationStatus))")
    }
    return object
}

/// llama-cpp-python's own server on the default model, on a free port, answering once
/// this returns; it stops when the returned process is terminated or this one exits.
func startLlamaCppServer(python: String, extra: [String] = []) async throws -> (Process, String) {
    let port = Int.random(in: 20_000...45_000)
    let process = Process()
    process.executableURL = URL(fileURLWithPath: python)
    process.arguments = [packageRoot.appendingPathComponent("scripts/serve_llama_cpp.py").path, try DefaultModel.path(),
                         String(port), String(ProcessInfo.processInfo.activeProcessorCount)] + extra
    process.standardInput = Pipe()
    process.standardOutput = FileHandle.nullDevice
    process.standardError = FileHandle.nullDevice
    try process.run()
    let base = "http://127.0.0.1:\(port)/v1"
    let probe = OpenAIChatModel(model: "gemma", baseURL: base, apiKey: nil,
                                options: AccessOptions(timeoutSeconds: 30, retry: RetryPolicy(maxAttempts: 60, baseDelay: 0.5, maxDelay: 0.5)))
    _ = try await probe.complete([.user("hi")], settings: SamplingSettings(temperature: 0, maxTokens: 1))
    return (process, base)
}

/// Wall seconds of a command run to its end; a failure is one line with the end of what it printed.
func timeCommand(_ executable: String, _ arguments: [String], environment: [String: String] = [:], directory: URL? = nil) throws -> Double {
    let process = Process()
    if let directory { process.currentDirectoryURL = directory }
    process.executableURL = URL(fileURLWithPath: executable, relativeTo: URL(fileURLWithPath: FileManager.default.currentDirectoryPath))
    process.arguments = arguments
    process.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 }
    // Both streams, through one pipe: a peer may print its error on either.
    let output = Pipe()
    process.standardOutput = output
    process.standardError = output
    let started = Date()
    try process.run()
    let printed = output.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    guard process.terminationStatus == 0 else {
        let text = String(decoding: printed.suffix(800), as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
        throw ValidationError("\(executable) exited with status \(process.terminationStatus): \(text.isEmpty ? "it printed nothing" : text)")
    }
    return Date().timeIntervalSince(started)
}
