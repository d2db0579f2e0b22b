import Foundation
import Testing
import WelfareCore
import WelfareEngine
@testable import WelfarePreservation
import WelfareTestSupport

/// The archive on the real default GGUF and real files: a byte-identical round trip, the
/// OCI layout's required fields, a flipped byte and a missing blob caught, kill -9 during
/// `add` leaving a valid archive, the same weights stored once.
@Suite(.serialized) struct ArchiveTests {

    func json(_ url: URL) throws -> [String: Any] {
        try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: url)) as? [String: Any])
    }

    /// The fields the OCI image spec requires of a descriptor, and that the blob matches it.
    func expectDescriptor(_ object: Any?, in archive: URL, _ context: String) throws {
        let descriptor = try #require(object as? [String: Any], "\(context) is not an object")
        let digest = try #require(descriptor["digest"] as? String, "\(context).digest")
        #expect(digest.hasPrefix("sha256:") && digest.count == 71 && digest.dropFirst(7).allSatisfy(\.isHexDigit), "\(context).digest \(digest)")
        #expect((descriptor["mediaType"] as? String)?.isEmpty == false, "\(context).mediaType")
        let size = try #require(descriptor["size"] as? Int, "\(context).size")
        let blob = archive.appendingPathComponent("blobs/sha256/" + digest.dropFirst(7))
        let onDisk = try FileManager.default.attributesOfItem(atPath: blob.path)[.size] as? NSNumber
        #expect(onDisk?.intValue == size, "\(context): size \(size) vs file \(onDisk ?? -1)")
    }

    @Test func roundTripLayoutAndFaults() throws {
        let folder = try TestSupport.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: folder) }
        let root = folder.appendingPathComponent("archive")
        let archive = try ModelArchive(root: root)
        let card = ArchiveRecord(role: "card", fileName: "card.md", data: Data("# A small base model\n".utf8))
        let model = try DefaultModel.path()
        let added = try archive.add(weights: model, records: [card])
        #expect(added.name == "gemma-3-270m-q4_k_m")
        #expect(added.weights?.digest == "sha256:" + DefaultModel.sha256, "the weights layer is the model file, uncompressed")
        _ = try archive.add(weights: model, name: "again")
        let bigBlobs = try FileManager.default.contentsOfDirectory(atPath: root.appendingPathComponent("blobs/sha256").path)
            .filter { ((try? FileManager.default.attributesOfItem(atPath: root.appendingPathComponent("blobs/sha256/\($0)").path)[.size]) as? NSNumber)?.intValue ?? 0 > 1_000_000 }
        #expect(bigBlobs.count == 1, "the same weights twice are stored once")

        // The layout as the OCI image spec and the ModelPack spec require it.
        #expect(try json(root.appendingPathComponent("oci-layout"))["imageLayoutVersion"] as? String == "1.0.0")
        let index = try json(root.appendingPathComponent("index.json"))
        #expect(index["schemaVersion"] as? Int == 2 && index["mediaType"] as? String == "application/vnd.oci.image.index.v1+json")
        let manifests = try #require(index["manifests"] as? [[String: Any]])
        #expect(manifests.count == 2)
        for (offset, entry) in manifests.enumerated() {
            try expectDescriptor(entry, in: root, "manifests[\(offset)]")
            let manifest = try json(root.appendingPathComponent("blobs/sha256/" + (entry["digest"] as! String).dropFirst(7)))
            #expect(manifest["schemaVersion"] as? Int == 2 && manifest["mediaType"] as? String == "application/vnd.oci.image.manifest.v1+json")
            #expect(manifest["artifactType"] as? String == "application/vnd.cncf.model.manifest.v1+json")
            try expectDescriptor(manifest["config"], in: root, "config")
            let layers = try #require(manifest["layers"] as? [[String: Any]])
            for (index, layer) in layers.enumerated() { try expectDescriptor(layer, in: root, "layers[\(index)]") }
            #expect(layers.first?["mediaType"] as? String == "application/vnd.cncf.model.weight.v1.raw")
            let configDigest = ((manifest["config"] as? [String: Any])?["digest"] as? String) ?? ""
            let config = try json(root.appendingPathComponent("blobs/sha256/" + configDigest.dropFirst(7)))
            let modelfs = try #require(config["modelfs"] as? [String: Any])
            #expect(modelfs["type"] as? String == "layers")
            #expect((modelfs["diffIds"] as? [String]) == layers.compactMap { $0["digest"] as? String })
            let technical = try #require(config["config"] as? [String: Any])
            #expect(technical["format"] as? String == "gguf" && technical["architecture"] as? String == "gemma3")
            #expect(technical["paramSize"] as? String == "268.1M" && technical["quantization"] as? String == "Q4_K_M")
            #expect(((config["descriptor"] as? [String: Any])?["licenses"] as? [String]) == ["gemma"])
        }

        // Restored weights are byte-identical.
        let restored = folder.appendingPathComponent("out/restored.gguf")
        try archive.restore(name: added.name, to: restored)
        #expect(try FileDigest.sha256(of: restored.path) == DefaultModel.sha256)
        #expect(try archive.verify().allSatisfy { $0.state == .ok })

        // A flipped byte in a blob, and a missing blob, are named; corrupt weights are not restored.
        let weights = root.appendingPathComponent("blobs/sha256/" + DefaultModel.sha256)
        let handle = try FileHandle(forUpdating: weights)
        try handle.seek(toOffset: 1_000_000)
        let byte = try #require(try handle.read(upToCount: 1)).first!
        try handle.seek(toOffset: 1_000_000)
        try handle.write(contentsOf: Data([byte ^ 0xFF]))
        try handle.close()
        let cardBlob = try #require(added.layers.first { $0.annotations?[AnnotationKey.role] == "card" })
        try FileManager.default.removeItem(at: root.appendingPathComponent("blobs/sha256/" + cardBlob.hex))
        let checks = try archive.verify(name: added.name)
        #expect(checks.first { $0.what == "weights" }?.state == .corrupt)
        #expect(checks.first { $0.what == "card" }?.state == .missing)
        #expect(checks.filter { $0.state == .ok }.map(\.what) == ["manifest", "config"])
        let second = folder.appendingPathComponent("out/second.gguf")
        #expect(throws: ArchiveError.self) { try archive.restore(name: added.name, to: second) }
        #expect(!FileManager.default.fileExists(atPath: second.path))
        let cli = try TestSupport.runWelfare(["archive", "verify", "--archive", root.path])
        #expect(cli.status != 0 && cli.stdout.contains("weights: corrupt") && cli.stdout.contains("card: missing"), "\(cli.stdout)")
    }

    @Test func aKilledAddLeavesAValidArchive() async throws {
        let folder = try TestSupport.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: folder) }
        let root = folder.appendingPathComponent("archive")
        let card = folder.appendingPathComponent("card.md")
        try Data("card".utf8).write(to: card)
        let first = try TestSupport.runWelfare(["archive", "add", "local:default", "--name", "kept", "--card", card.path, "--archive", root.path])
        #expect(first.status == 0, "\(first.stderr)")

        // Kill -9 while the weights are being copied under another name.
        let process = Process()
        process.executableURL = TestSupport.welfareBinary
        process.arguments = ["archive", "add", "local:default", "--name", "interrupted", "--archive", root.path]
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        // The same weights would be recognised only after copying, so the copy is what is cut.
        try process.run()
        let blobs = root.appendingPathComponent("blobs/sha256")
        var sawPartial = false
        for _ in 0..<2000 {
            let names = (try? FileManager.default.contentsOfDirectory(atPath: blobs.path)) ?? []
            if names.contains(where: { $0.hasPrefix(".partial-") }) {
                sawPartial = true
                kill(process.processIdentifier, SIGKILL)
                break
            }
            try await Task.sleep(nanoseconds: 2_000_000)
        }
        process.waitUntilExit()
        #expect(sawPartial && process.terminationReason == .uncaughtSignal)
        let archive = try ModelArchive(root: root)
        #expect(try archive.list().map(\.name) == ["kept"], "the index names only what was completed")
        #expect(try archive.verify().allSatisfy { $0.state == .ok })
        // The next change clears what the killed one left.
        let again = try TestSupport.runWelfare(["archive", "add", "local:default", "--name", "second", "--archive", root.path])
        #expect(again.status == 0, "\(again.stderr)")
        #expect(try FileManager.default.contentsOfDirectory(atPath: blobs.path).allSatisfy { !$0.hasPrefix(".partial-") })
        #expect(try archive.list().map(\.name) == ["kept", "second"])
    }

    @Test func badInputIsOneLine() throws {
        let folder = try TestSupport.temporaryDirectory()
        let text = folder.appendingPathComponent("notes.gguf")
        try Data("not a model".utf8).write(to: text)
        let archive = folder.appendingPathComponent("a").path
        #expect(try TestSupport.runWelfare(["archive", "add", "local:default", "--name", "taken", "--archive", archive]).status == 0)
        for (arguments, phrase) in [
            (["archive", "add", "local:default", "--name", "taken", "--archive", archive], "already holds a model named 'taken'"),
            (["archive", "add", text.path, "--archive", archive], "is not a GGUF model"),
            (["archive", "add", "local:default", "--name", "../up", "--archive", archive], "is not a usable name"),
            (["archive", "restore", "nothing", "-o", folder.appendingPathComponent("x.gguf").path, "--archive", archive], "no model 'nothing'"),
        ] {
            let outcome = try TestSupport.runWelfare(arguments)
            let lines = outcome.stderr.split(separator: "\n").filter { !$0.hasPrefix("Usage:") && !$0.hasPrefix("  See '") }
            #expect(outcome.status != 0 && lines.count == 1 && lines[0].contains(phrase), "\(arguments): \(outcome.stderr)")
        }
    }
}
