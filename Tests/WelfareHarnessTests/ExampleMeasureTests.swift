import Foundation
import Testing
import WelfareStore
import WelfareTestSupport

/// The keyed measure of the example package (Examples/RunASuite, target WordAssociations),
/// defined outside ModelWelfare with one type and one registry line, on the real model: it
/// runs, is killed with -9, resumes to exactly the answers of an uninterrupted run, and
/// reports. `scripts/test.sh` builds it into the main build folder before the tests.
@Suite(.serialized) struct ExampleMeasureTests {
    static var program: URL { TestSupport.packageRoot.appendingPathComponent(".build/debug/WordAssociations") }

    static func run(_ arguments: [String]) throws -> (status: Int32, stdout: String) {
        let process = Process()
        process.executableURL = program
        process.arguments = arguments
        let output = Pipe()
        process.standardOutput = output
        process.standardError = FileHandle.nullDevice
        try process.run()
        let text = String(decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        return (process.terminationStatus, text)
    }

    @Test func aMeasureFromAnotherPackageResumesAfterKillAndReports() async throws {
        guard FileManager.default.isExecutableFile(atPath: Self.program.path) else {
            try Test.cancel("the example package is not built; scripts/test.sh builds it (Examples/RunASuite)")
        }
        let folder = try TestSupport.temporaryDirectory()
        let database = folder.appendingPathComponent("killed.sqlite").path
        let (runID, seen, died) = try await TestSupport.killWhenItems(program: Self.program, ["start", database], database: database,
                                                                      prefix: "association/", atLeast: 4)
        #expect(died, "the run ended before it could be killed")
        let killed = try #require(runID)
        #expect(seen < 12)
        let before = try RunStore(path: database, readOnly: true).items([String: String].self, runID: killed, prefix: "association/")

        let resumed = try Self.run(["resume", database, killed])
        #expect(resumed.status == 0 && resumed.stdout.contains("12 cues answered"), "\(resumed.stdout)")
        let clean = folder.appendingPathComponent("clean.sqlite").path
        #expect(try Self.run(["start", clean]).status == 0)

        let after = try RunStore(path: database, readOnly: true).items([String: String].self, runID: killed, prefix: "association/")
        let cleanStore = try RunStore(path: clean, readOnly: true)
        let reference = try cleanStore.items([String: String].self, runID: try #require(try cleanStore.runs().first?.id), prefix: "association/")
        #expect(after.count == 12 && after == reference, "greedy answers: the resumed run holds exactly the uninterrupted run's")
        #expect(before.allSatisfy { after[$0.key] == $0.value }, "answers stored before the kill are kept")
        #expect(try RunStore(path: database, readOnly: true).run(killed).kind == "word-associations")

        let report = try Self.run(["report", database, killed, folder.appendingPathComponent("report").path])
        #expect(report.status == 0 && report.stdout.contains("word-associations-\(killed).html"))
        // The welfare tool does not know this kind: one line saying so, not a crash.
        let welfare = try TestSupport.runWelfare(["report", killed, "--db", database])
        #expect(welfare.status == 1 && welfare.stderr.contains("is a word-associations run, which this program does not know"), "\(welfare.stderr)")
    }
}
