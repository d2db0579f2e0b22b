import ArgumentParser
import Foundation

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
