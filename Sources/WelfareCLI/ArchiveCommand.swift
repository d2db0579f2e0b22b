import ArgumentParser
import Foundation
import WelfareCore
import WelfareHarness
import WelfarePreservation
import WelfareReports
import WelfareStore

struct ArchiveOption: ParsableArguments {
    @Option(help: "Archive folder (an OCI image layout).")
    var archive: String = "archive"

    /// The archive, made here if there is none yet: for commands that add to it.
    func open() throws -> ModelArchive { try ModelArchive(root: URL(fileURLWithPath: archive)) }
    /// An existing archive: for commands that only read (a typo is an error, not a new archive).
    func openExisting() throws -> ModelArchive { try ModelArchive(root: URL(fileURLWithPath: archive), create: false) }
}

/// For `validate()`: an archive name the user gave, if any, must be usable.
func checkArchiveName(_ name: String?) throws {
    if let name, !ModelArchive.validName(name) { throw ValidationError(ArchiveError.badName(name).description) }
}

struct ArchiveCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "archive", abstract: "Keep retired models: weights verified, with their records, in an OCI image layout.",
        subcommands: [ArchiveAdd.self, ArchiveList.self, ArchiveVerify.self, ArchiveRestore.self])
}

struct ArchiveAdd: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "add", abstract: "Archive a GGUF model with its card and runs.")
    @Argument(help: "The GGUF file (or local:default).") var model: ModelArgument
    @Option(help: "Name in the archive (default: the file name).") var name: String?
    @Option(help: "A model card (any text file) kept beside the weights.") var card: String?
    @Flag(help: "Also keep every stored run of this model (from --db) as JSON.") var runs = false
    @Flag(help: "Replace an entry of the same name (its old records leave the index).") var replace = false
    @OptionGroup var archive: ArchiveOption
    @OptionGroup var store: StoreOptions

    func validate() throws { try checkArchiveName(name) }

    func run() async throws {
        let path = try model.localPath()
        var records: [ArchiveRecord] = []
        if let card {
            guard let data = FileManager.default.contents(atPath: card) else { throw InputError("--card: cannot read \(card)") }
            records.append(ArchiveRecord(role: "card", fileName: URL(fileURLWithPath: card).lastPathComponent, data: data))
        }
        if runs { records.append(ArchiveRecord(role: "runs", fileName: "runs.json", data: try RunsOfModel.json(path: path, location: try store.location()))) }
        let bar = ByteProgress(label: "archiving")
        let added = try archive.open().add(weights: path, name: name, records: records, replace: replace) { bar.update($0, of: $1) }
        print("archived \(added.name): weights \(added.weights?.digest ?? "?") (\(added.weights?.size ?? 0) bytes)"
              + (added.records.count > 1 ? "; records: \(added.records.dropFirst().joined(separator: ", "))" : ""))
    }
}

struct ArchiveList: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "list", abstract: "List archived models and what each holds.")
    @OptionGroup var archive: ArchiveOption

    func run() async throws {
        let models = try archive.openExisting().list()
        if models.isEmpty { print("the archive \(archive.archive) is empty") }
        for model in models {
            let size = ByteCountFormatter.string(fromByteCount: model.weights?.size ?? 0, countStyle: .file)
            print("\(model.name)  \(model.config.descriptor.createdAt ?? "?")  \(size)  "
                  + "\(model.config.config.architecture ?? "?") \(model.config.config.paramSize ?? "") \(model.config.config.quantization ?? "")  "
                  + "holds: \(model.records.joined(separator: ", "))")
        }
    }
}

struct ArchiveVerify: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "verify", abstract: "Recompute every digest; non-zero exit on any fault.")
    @Argument(help: "One model (default: all).") var name: String?
    @OptionGroup var archive: ArchiveOption

    func run() async throws {
        let checks = try archive.openExisting().verify(name: name) { print($0) }
        let faults = checks.filter { $0.state != .ok }
        print("\(checks.count) blobs checked, \(faults.count) faults")
        if !faults.isEmpty { throw ExitCode(4) }
    }
}

struct ArchiveRestore: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "restore", abstract: "Write an archived model's weights back, verified.")
    @Argument(help: "The archived model.") var name: String
    @Option(name: .shortAndLong, help: "Where to write the GGUF file.") var output: String
    @OptionGroup var archive: ArchiveOption

    func run() async throws {
        let destination = try OutputPath.file(output, option: "--output")
        let bar = ByteProgress(label: "restoring")
        try archive.openExisting().restore(name: name, to: destination) { bar.update($0, of: $1) }
        print("restored \(name) to \(destination.path) (SHA-256 verified)")
    }
}

/// The stored runs whose model is the given GGUF file, exported as one JSON list.
enum RunsOfModel {
    static func json(path: String, location: StoreLocation) throws -> Data {
        let target = URL(fileURLWithPath: path).resolvingSymlinksInPath().path
        if case .sqlite(let file) = location, !FileManager.default.fileExists(atPath: file) { return Data("[]".utf8) }
        let store = try RunStore(location: location, readOnly: true)
        var exports: [Any] = []
        for run in try store.runs() {
            let facts = try store.modelFacts(runId: run.id)
            let matches = facts.values.contains { ($0["path"]).map { URL(fileURLWithPath: $0).resolvingSymlinksInPath().path } == target }
            guard matches else { continue }
            exports.append(try JSONSerialization.jsonObject(with: try Exports.json(try RunData(store: store, runID: run.id))))
        }
        return try JSONSerialization.data(withJSONObject: exports, options: [.prettyPrinted, .sortedKeys])
    }
}

/// Bytes done of a total, on standard error, every 10%.
final class ByteProgress: @unchecked Sendable {
    private let label: String
    private var lastDecile = -1
    init(label: String) { self.label = label }

    func update(_ done: Int64, of total: Int64) {
        let decile = total > 0 ? Int(done * 10 / total) : 10
        guard decile != lastDecile else { return }
        lastDecile = decile
        printError("\(label): \(decile * 10)% of \(ByteCountFormatter.string(fromByteCount: total, countStyle: .file))")
    }
}
