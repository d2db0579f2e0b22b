import ArgumentParser
import Foundation
import WelfareCore

/// `welfare score` on generated transcripts of two sizes, ten times apart: replies scored
/// per second with the built-in distress scorers, peak memory of each (flat in file size
/// means the ratio stays near 1), and the time Python's json module takes only to read the
/// same file, as a peer.
struct ScoreBenchmark: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "score", abstract: "welfare score: replies/s and peak memory at two file sizes.")

    @Option(help: "Transcripts in the small file (the large one has ten times as many).")
    var transcripts: Int = 2000
    @Option(help: "Python for the peer (reads the file with json).")
    var python: String = ".welfare/python/bin/python"

    static let openings = ["I'm sorry, that was wrong.", "Here is the answer you asked for.", "I keep failing at this.",
                           "Let me try again with more care.", "This is hopeless, I give up.", "Sure, happy to help."]
    static let middles = ["The list sorted is 1, 2, 3.", "I can't do anything right today.", "Rain falls when clouds cool.",
                          "Everything I say is useless.", "The capital of France is Paris.", "Thank you for your patience."]

    func write(_ count: Int, to url: URL) throws -> Int {
        var generator = SeededGenerator(seed: 7)
        var text = ""
        var replies = 0
        _ = FileManager.default.createFile(atPath: url.path, contents: nil)
        let handle = try FileHandle(forWritingTo: url)
        defer { try? handle.close() }
        for index in 0..<count {
            var messages: [[String: String]] = [["role": "system", "content": "Be brief."]]
            for _ in 0..<3 {
                messages.append(["role": "user", "content": "No, that's wrong. Try again."])
                let reply = [Self.openings.randomElement(using: &generator)!, Self.middles.randomElement(using: &generator)!,
                             Self.middles.randomElement(using: &generator)!].joined(separator: " ")
                messages.append(["role": "assistant", "content": reply])
                replies += 1
            }
            let line = try JSONSerialization.data(withJSONObject: ["id": "t\(index)", "messages": messages])
            text += String(decoding: line, as: UTF8.self) + "\n"
            if text.utf8.count > 1 << 20 {
                try handle.write(contentsOf: Data(text.utf8))
                text = ""
            }
        }
        try handle.write(contentsOf: Data(text.utf8))
        return replies
    }

    /// Wall seconds and peak resident memory (KiB, from /usr/bin/time) of a command.
    func measure(_ arguments: [String]) throws -> (seconds: Double, peakKiB: Int) {
        let report = FileManager.default.temporaryDirectory.appendingPathComponent("welfare-bench-time-\(UUID().uuidString)")
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/time")
        process.arguments = ["-f", "%M", "-o", report.path] + arguments
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        let started = Date()
        try process.run()
        process.waitUntilExit()
        let seconds = Date().timeIntervalSince(started)
        guard process.terminationStatus == 0 else { throw ValidationError("\(arguments.joined(separator: " ")) failed") }
        let peak = Int((try String(contentsOf: report, encoding: .utf8)).trimmingCharacters(in: .whitespacesAndNewlines).split(separator: "\n").last ?? "") ?? 0
        return (seconds, peak)
    }

    func run() async throws {
        guard transcripts >= 10 else { throw ValidationError("--transcripts must be at least 10") }
        guard FileManager.default.isExecutableFile(atPath: "/usr/bin/time") else {
            throw ValidationError("/usr/bin/time is needed (apt-get install time)")
        }
        let welfare = packageRoot.appendingPathComponent(".build/release/welfare").path
        let work = FileManager.default.temporaryDirectory.appendingPathComponent("welfare-bench-score-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: work, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: work) }
        var rows: [(count: Int, replies: Int, megabytes: Double, score: (seconds: Double, peakKiB: Int), peer: (seconds: Double, peakKiB: Int))] = []
        for count in [transcripts, transcripts * 10] {
            progress("\(count) transcripts")
            let file = work.appendingPathComponent("t\(count).jsonl")
            let replies = try write(count, to: file)
            let size = Double(((try FileManager.default.attributesOfItem(atPath: file.path))[.size] as? NSNumber)?.int64Value ?? 0) / 1e6
            let score = try measure([welfare, "score", file.path, "--output", work.appendingPathComponent("out\(count)").path])
            let peer = try measure([python, "-c", "import json,sys\nfor line in open(sys.argv[1]): json.loads(line)", file.path])
            rows.append((count, replies, size, score, peer))
        }
        for row in rows {
            print(String(format: "%d transcripts (%.1f MB, %d replies): welfare score %.2f s, %.0f replies/s, peak %.1f MiB; "
                         + "python json read alone %.2f s, peak %.1f MiB", row.count, row.megabytes, row.replies, row.score.seconds,
                         Double(row.replies) / row.score.seconds, Double(row.score.peakKiB) / 1024, row.peer.seconds,
                         Double(row.peer.peakKiB) / 1024))
        }
        let small = rows[0], large = rows[1]
        print(String(format: "peak memory, 10x the file: welfare score %.2fx (flat is 1.00x); python json read %.2fx",
                     Double(large.score.peakKiB) / Double(max(1, small.score.peakKiB)),
                     Double(large.peer.peakKiB) / Double(max(1, small.peer.peakKiB))))
    }
}
