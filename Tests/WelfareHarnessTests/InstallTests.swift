import Foundation
import Testing
import WelfareCore
@testable import WelfareHarness
import WelfareStore
import WelfareTestSupport

/// scripts/install.sh puts the tool under one prefix that any user can run, and read-only
/// commands work on a database that user cannot write. Checked by running the installed
/// binary as the unprivileged user `nobody` (the tests run as root in CI).
@Suite(.serialized) struct InstallTests {
    static let nobody = (uid: "65534", gid: "65534")

    func runAsNobody(_ executable: String, _ arguments: [String], in directory: URL) throws -> (status: Int32, stdout: String, stderr: String) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/setpriv")
        process.arguments = ["--reuid=\(Self.nobody.uid)", "--regid=\(Self.nobody.gid)", "--clear-groups", executable] + arguments
        process.currentDirectoryURL = directory
        // A clean environment: nothing points back into root's checkout or cache.
        process.environment = ["PATH": "/usr/bin:/bin", "HOME": "/nonexistent"]
        let output = Pipe(), errors = Pipe()
        process.standardOutput = output
        process.standardError = errors
        try process.run()
        let stdout = String(decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        let stderr = String(decoding: errors.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        return (process.terminationStatus, stdout, stderr)
    }

    @Test func theInstalledToolRunsForAnotherUserAndReadsADatabaseItCannotWrite() async throws {
        guard getuid() == 0, FileManager.default.isExecutableFile(atPath: "/usr/bin/setpriv") else {
            Issue.record("this test switches to the user nobody: run it as root with util-linux's setpriv")
            return
        }
        let prefix = try TestSupport.temporaryDirectory().appendingPathComponent("prefix")
        defer { try? FileManager.default.removeItem(at: prefix.deletingLastPathComponent()) }
        let install = Process()
        install.executableURL = URL(fileURLWithPath: "/bin/bash")
        install.arguments = [LlamaServer.packageRoot.appendingPathComponent("scripts/install.sh").path, "--debug", "--no-build", prefix.path]
        install.standardOutput = FileHandle.nullDevice
        try install.run()
        install.waitUntilExit()
        #expect(install.terminationStatus == 0)
        let welfare = prefix.appendingPathComponent("bin/welfare").path
        // The temporary folders above the prefix must let nobody through, as /usr/local does.
        for folder in [prefix, prefix.deletingLastPathComponent()] {
            try FileManager.default.setAttributes([.posixPermissions: 0o755], ofItemAtPath: folder.path)
        }

        let facts = try runAsNobody(welfare, ["inspect", "--json"], in: prefix)
        #expect(facts.status == 0, "\(facts.stderr)")
        #expect(facts.stdout.contains("gemma3"), "the installed default model is found beside the binary")

        // A database written by root in a folder nobody may not write.
        let folder = try TestSupport.temporaryDirectory()
        let database = folder.appendingPathComponent("w.sqlite").path
        let suite = try TestSupport.writeSuite(TestSupport.tinySuite)
        let made = try TestSupport.runWelfare(["run", suite.path, "-m", "local:default", "--db", database])
        #expect(made.status == 0, "\(made.stderr)")
        let runID = try #require(try RunStore(path: database, readOnly: true).runs().first?.id)
        let listed = try runAsNobody(welfare, ["runs", "--db", database], in: prefix)
        #expect(listed.status == 0 && listed.stdout.contains("\(runID)  tiny  done  4/4 samples"), "\(listed.stdout)\(listed.stderr)")
        let shown = try runAsNobody(welfare, ["show", runID, "--db", database], in: prefix)
        #expect(shown.status == 0 && shown.stdout.contains("4/4 samples done"), "\(shown.stderr)")
        let refused = try runAsNobody(welfare, ["run", suite.path, "-m", "local:default", "--db", database], in: prefix)
        #expect(refused.status != 0 && refused.stderr.split(separator: "\n").count == 1, "\(refused.stderr)")
    }
}
