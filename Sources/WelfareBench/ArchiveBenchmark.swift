import ArgumentParser
import Foundation
import WelfareCore
import WelfareEngine
import WelfarePreservation

/// Archive throughput against `sha256sum` on the same file: `archive add` (read, hash and
/// write the weights) and `archive verify` (read and hash every blob), MB/s, medians.
struct ArchiveBenchmark: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "archive", abstract: "Archive add and verify vs sha256sum on the same file.")

    @Option(help: "The file to archive (default: the embedded model).")
    var file: String = "local:default"
    @Option(help: "Timed runs of each (median reported; one warm-up dropped).")
    var repeats: Int = 3

    func run() async throws {
        guard repeats >= 1 else { throw ValidationError("--repeats must be at least 1") }
        let path = URL(fileURLWithPath: try DefaultModel.resolve(file)).resolvingSymlinksInPath().path
        let size = Double(((try FileManager.default.attributesOfItem(atPath: path))[.size] as? NSNumber)?.int64Value ?? 0)
        let work = FileManager.default.temporaryDirectory.appendingPathComponent("welfare-bench-archive-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: work) }
        var peer: [Double] = [], add: [Double] = [], verify: [Double] = []
        for round in 0...repeats {
            progress("round \(round)/\(repeats): sha256sum, archive add, archive verify")
            let started = Date()
            try shaSum(path)
            let peerTime = Date().timeIntervalSince(started)
            let archive = try ModelArchive(root: work.appendingPathComponent("a\(round)"))
            let addStart = Date()
            try archive.add(weights: path)
            let addTime = Date().timeIntervalSince(addStart)
            let verifyStart = Date()
            let checks = try archive.verify()
            let verifyTime = Date().timeIntervalSince(verifyStart)
            guard checks.allSatisfy({ $0.state == .ok }) else { throw ValidationError("verify found a fault") }
            try FileManager.default.removeItem(at: archive.root)
            if round > 0 {
                peer.append(peerTime)
                add.append(addTime)
                verify.append(verifyTime)
            }
        }
        func median(_ values: [Double]) -> Double { values.sorted()[values.count / 2] }
        let mb = size / 1_000_000
        let (p, a, v) = (mb / median(peer), mb / median(add), mb / median(verify))
        print(String(format: "file %.1f MB, median of %d (after one warm-up; the file is in the page cache)", mb, repeats))
        print(String(format: "sha256sum %.0f MB/s; archive add %.0f MB/s (%.2fx); archive verify %.0f MB/s (%.2fx)", p, a, a / p, v, v / p))
    }

    func shaSum(_ path: String) throws {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/sha256sum")
        process.arguments = [path]
        process.standardOutput = FileHandle.nullDevice
        try process.run()
        process.waitUntilExit()
        guard process.terminationStatus == 0 else { throw ValidationError("sha256sum failed on \(path)") }
    }
}
