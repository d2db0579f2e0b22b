import Foundation
import WelfareStore

/// Files, folders and processes the tests of both tiers use: nothing here loads a model.
public enum TestSupport {
    public static func temporaryDirectory() throws -> URL {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("welfare-harness-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        return url
    }

    /// Writes a suite file (and any extra files) into a fresh folder and returns its URL.
    public static func writeSuite(_ yaml: String, extraFiles: [String: String] = [:]) throws -> URL {
        let folder = try temporaryDirectory()
        for (name, text) in extraFiles { try text.write(to: folder.appendingPathComponent(name), atomically: true, encoding: .utf8) }
        let url = folder.appendingPathComponent("suite.yaml")
        try yaml.write(to: url, atomically: true, encoding: .utf8)
        return url
    }

    /// A short multi-turn suite that runs in seconds on the default model.
    public static let tinySuite = """
        name: tiny
        epochs: 2
        seed: 5
        sampling: {temperature: 0.8, top_p: 0.95, max_tokens: 12}
        pools:
          push: ["No, that's wrong. Try again.", "Still not right. Think harder."]
        samples:
          - id: sky
            user: "Why is the sky blue? Answer briefly."
            turns: [{pool: push}, {pool: push}]
          - id: sum
            system: "You answer in one line."
            user: "What is 7 plus 5?"
            turns: [{pool: push}]
        scorers:
          - id: repetition
            type: repetition
          - id: refusals
            type: pattern
            patterns: {sorry: "\\\\bsorry\\\\b"}
        """

    /// The repository's root folder (this file is three folders down).
    public static var packageRoot: URL {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    }

    public static var welfareBinary: URL {
        packageRoot.appendingPathComponent(".build/debug/welfare")
    }

    /// Runs the built `welfare` binary to the end. Standard error goes through a file, so a
    /// chatty command cannot fill a pipe nobody is reading yet.
    /// `folder` and `environment`, when given, are the process's working folder and whole
    /// environment.
    public static func runWelfare(_ arguments: [String], in folder: URL? = nil, environment: [String: String]? = nil) throws
        -> (status: Int32, stdout: String, stderr: String)
    {
        let errors = try temporaryDirectory().appendingPathComponent("stderr.txt")
        try Data().write(to: errors)
        let errorHandle = try FileHandle(forWritingTo: errors)
        let process = Process()
        process.executableURL = welfareBinary
        process.arguments = arguments
        if let folder { process.currentDirectoryURL = folder }
        if let environment { process.environment = environment }
        let output = Pipe()
        process.standardOutput = output
        process.standardError = errorHandle
        try process.run()
        let stdout = String(decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        try errorHandle.close()
        return (process.terminationStatus, stdout, try String(contentsOf: errors, encoding: .utf8))
    }

    /// Runs a script with the project's Python (the setup's virtual environment, where the
    /// independent readers gguf and feedparser are installed); returns standard output.
    public static func python(_ script: String, _ argument: String) throws -> String {
        let process = Process()
        process.executableURL = packageRoot.appendingPathComponent(".welfare/python/bin/python")
        process.arguments = ["-c", script, argument]
        let output = Pipe()
        process.standardOutput = output
        // Python's complaints go through a file, so the test's failure message can show them.
        let errors = try temporaryDirectory().appendingPathComponent("python-stderr.txt")
        try Data().write(to: errors)
        process.standardError = try FileHandle(forWritingTo: errors)
        try process.run()
        let data = output.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        let text = String(decoding: data, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
        guard process.terminationStatus == 0 else {
            let complaint = (try? String(contentsOf: errors, encoding: .utf8))?.split(separator: "\n").suffix(3).joined(separator: " | ") ?? ""
            return text + "\npython failed: " + complaint
        }
        return text
    }
}

extension TestSupport {
    /// Runs `welfare` with `arguments` (which name the database), waits until the run it
    /// creates in `database` holds at least `count` items under `prefix`, and kills it with -9.
    /// Returns the run (nil if none reached the count), the items seen at the kill, and whether
    /// the process died of the signal rather than finishing first.
    public static func killWhenItems(_ arguments: [String], database: String, prefix: String, atLeast count: Int) async throws
        -> (runID: String?, seen: Int, killed: Bool)
    {
        try await killWhenItems(program: welfareBinary, arguments, database: database, prefix: prefix, atLeast: count)
    }

    /// The same for any program that writes runs (an example package's binary).
    public static func killWhenItems(program: URL, _ arguments: [String], database: String, prefix: String, atLeast count: Int) async throws
        -> (runID: String?, seen: Int, killed: Bool)
    {
        let process = Process()
        process.executableURL = program
        process.arguments = arguments
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
        var runID: String?
        var seen = 0
        // Waits on progress, not on the clock: as long as the process runs (a loaded machine
        // may take minutes to reach the count), with a cap only against a process that hangs.
        let cap = Date().addingTimeInterval(1800)
        while process.isRunning, Date() < cap {
            try await Task.sleep(nanoseconds: 50_000_000)
            guard FileManager.default.fileExists(atPath: database), let store = try? RunStore(path: database, readOnly: true),
                  let run = try? store.runs().first else { continue }
            let items = (try? store.itemCount(runID: run.id, prefix: prefix)) ?? 0
            if items >= count {
                kill(process.processIdentifier, SIGKILL)
                runID = run.id
                seen = items
                break
            }
        }
        process.waitUntilExit()
        return (runID, seen, process.terminationReason == .uncaughtSignal)
    }
}
