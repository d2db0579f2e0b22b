import Foundation
import WelfareCore
import WelfareHarness
import WelfarePreservation
import WelfareReports
import WelfareStore

/// What the dashboard shows, read afresh for every request: runs from a run database
/// (which other processes may be writing), and an archive with its essays. Read-only.
public struct Dashboard: Sendable {
    public var database: StoreLocation?
    public var archiveRoot: URL?
    /// How each kind of stored run is shown.
    public var kinds: RunKindRegistry
    /// A PostgreSQL store is opened once and its connections kept; a file is opened per
    /// request (it may not exist yet).
    private let sharedStore: RunStore?

    /// Throws only for a PostgreSQL store that cannot be reached.
    public init(database: StoreLocation?, archiveRoot: URL?, kinds: RunKindRegistry) throws {
        self.database = database
        self.archiveRoot = archiveRoot
        self.kinds = kinds
        sharedStore = try database.flatMap { $0.isShared ? try RunStore(location: $0, readOnly: true) : nil }
    }

    /// The database as the page may show it: a PostgreSQL address without its password.
    public var databaseDisplay: String? { database?.description }

    /// One run's line on the runs page and in its live updates.
    public struct RunSummary: Codable, Sendable, Equatable {
        public var id: String
        public var suite: String
        public var state: String
        public var progress: String
        public var models: String
        public var created: String
    }

    /// The runs, newest first; empty when there is no database yet.
    public func runs() throws -> [RunSummary] {
        guard let store = try store() else { return [] }
        let stamp = ISO8601DateFormatter()
        return try store.runs().sorted { $0.createdAt > $1.createdAt }.map { run in
            let progress = (try? kinds.kind(of: run).progress(runID: run.id, store: store)) ?? "a \(run.kind) run"
            return RunSummary(id: run.id, suite: run.suiteName, state: store.state(of: run).rawValue, progress: progress,
                              models: (try? store.settings(of: run).models.joined(separator: ", ")) ?? "",
                              created: stamp.string(from: run.createdAt))
        }
    }

    public func reportPage(runID: String) throws -> String? {
        guard let store = try store(), (try? store.run(runID)) != nil else { return nil }
        return try kinds.kind(ofRun: runID, in: store).page(runID: runID, store: store)
    }

    private func store() throws -> RunStore? {
        if let sharedStore { return sharedStore }
        guard case .sqlite(let path)? = database, FileManager.default.fileExists(atPath: path) else { return nil }
        return try RunStore(location: .sqlite(path: path), readOnly: true)
    }

    // MARK: - Archive and essays

    public func archive() throws -> ModelArchive? {
        guard let archiveRoot else { return nil }
        return try ModelArchive(root: archiveRoot, create: false)
    }

    /// The essay site's files by path, as `welfare essays site` writes them.
    public func essayFiles() throws -> [String: String] {
        guard let archive = try archive() else { return [:] }
        let essays = try EssayDesk.authors(in: archive).flatMap { try EssayDesk(archive: archive, author: $0).essays() }
        return Dictionary(EssaySite.pages(essays: essays, title: "Essays from retired models").map { ($0.path, $0.content) }) { a, _ in a }
    }
}
