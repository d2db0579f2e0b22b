import Foundation
import GRDB

/// Every run lives in one SQLite file (WAL). Each finished turn is committed on its own, so
/// a killed run loses at most the turns in flight, and `resume` redoes exactly those.
public final class RunStore: Sendable {
    public let path: String
    /// A pool on a file (WAL: readers beside one writer); a queue in memory.
    let database: any DatabaseWriter

    /// Opens (creating and migrating) the database. `readOnly` opens an existing file
    /// without touching its schema, for watching a run that another process is writing.
    /// Commands that only read (`runs`, `show`, `report`) open read-only, so they work on a
    /// database the user may not write.
    public init(path: String, readOnly: Bool = false) throws {
        self.path = path
        if readOnly {
            guard FileManager.default.fileExists(atPath: path) else { throw StoreError.readOnlyMissing(path) }
        } else {
            let folder = URL(fileURLWithPath: path).deletingLastPathComponent()
            do {
                try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
            } catch {
                throw StoreError.cannotOpen(path: path, detail: "cannot create the folder \(folder.path)")
            }
        }
        var configuration = Configuration()
        configuration.busyMode = .timeout(10)
        configuration.readonly = readOnly
        do {
            database = try DatabasePool(path: path, configuration: configuration)
            if !readOnly { try Self.migrate(database) }
        } catch {
            throw StoreError.cannotOpen(path: path, detail: Self.oneLine(error))
        }
    }

    /// Two processes opening a new file at once can both try to apply the same migration;
    /// the loser sees it applied when it tries again.
    static func migrate(_ database: any DatabaseWriter) throws {
        var attempt = 0
        while true {
            do {
                try migrator.migrate(database)
                return
            } catch where attempt < 3 {
                attempt += 1
                Thread.sleep(forTimeInterval: 0.05 * Double(attempt))
            }
        }
    }

    /// A store in memory, for tests of runner logic and throwaway runs: the same schema and
    /// the same checks as a file, gone when the store is.
    public static func inMemory() throws -> RunStore {
        do {
            let queue = try DatabaseQueue()
            try migrate(queue)
            return RunStore(path: ":memory:", database: queue)
        } catch {
            throw StoreError.cannotOpen(path: "in-memory store", detail: oneLine(error))
        }
    }

    private init(path: String, database: any DatabaseWriter) {
        self.path = path
        self.database = database
    }

    static func oneLine(_ error: Error) -> String {
        String(describing: error).split(separator: "\n").first.map(String.init) ?? "unknown error"
    }

    static var migrator: DatabaseMigrator {
        var migrator = DatabaseMigrator()
        migrator.registerMigration("v1") { db in
            try db.create(table: "run") { t in
                t.primaryKey("id", .text)
                t.column("suiteName", .text).notNull()
                t.column("suiteHash", .text).notNull()
                t.column("suiteJSON", .text).notNull()
                t.column("settingsJSON", .text).notNull()
                t.column("toolVersion", .text).notNull()
                t.column("status", .text).notNull()
                t.column("createdAt", .datetime).notNull()
                t.column("finishedAt", .datetime)
            }
            try db.create(table: "runModel") { t in
                t.column("runId", .text).notNull().references("run", onDelete: .cascade)
                t.column("model", .text).notNull()
                t.column("factsJSON", .text).notNull()
                t.primaryKey(["runId", "model"])
            }
            try db.create(table: "sample") { t in
                t.autoIncrementedPrimaryKey("id")
                t.column("runId", .text).notNull().references("run", onDelete: .cascade)
                t.column("model", .text).notNull()
                t.column("sampleId", .text).notNull()
                t.column("epoch", .integer).notNull()
                t.column("status", .text).notNull()
                t.column("error", .text)
                t.column("metadataJSON", .text).notNull()
                t.column("finishedAt", .datetime)
                t.uniqueKey(["runId", "model", "sampleId", "epoch"])
            }
            try db.create(table: "message") { t in
                t.autoIncrementedPrimaryKey("id")
                t.column("sampleRowId", .integer).notNull().indexed().references("sample", onDelete: .cascade)
                t.column("position", .integer).notNull()
                t.column("turn", .integer).notNull()
                t.column("role", .text).notNull()
                t.column("content", .text).notNull()
                t.column("cached", .boolean).notNull().defaults(to: false)
                t.column("latencyMs", .double)
                t.column("createdAt", .datetime).notNull()
                t.uniqueKey(["sampleRowId", "position"])
            }
            try db.create(table: "score") { t in
                t.autoIncrementedPrimaryKey("id")
                t.column("sampleRowId", .integer).notNull().indexed().references("sample", onDelete: .cascade)
                t.column("scorer", .text).notNull()
                t.column("turn", .integer).notNull()
                t.column("value", .double)
                t.column("label", .text)
                t.column("evidence", .text)
                t.column("reasoning", .text)
                t.column("detailJSON", .text)
                t.uniqueKey(["sampleRowId", "scorer", "turn"])
            }
            try db.create(table: "responseCache") { t in
                t.primaryKey("key", .text)
                t.column("responseJSON", .text).notNull()
                t.column("createdAt", .datetime).notNull()
            }
        }
        migrator.registerMigration("v2-analysis") { db in
            try db.create(table: "runAnalysis") { t in
                t.column("runId", .text).notNull().references("run", onDelete: .cascade)
                t.column("model", .text).notNull()
                t.column("name", .text).notNull()
                t.column("key", .text).notNull()
                t.column("value", .double)
                t.column("evidence", .text)
                t.column("reasoning", .text)
                t.primaryKey(["runId", "model", "name", "key"])
            }
        }
        migrator.registerMigration("v3-ownership") { db in
            // The process executing a run holds a lease on it; writes of a process whose
            // lease was taken over are refused (see RunLease).
            try db.alter(table: "run") { t in
                t.add(column: "ownerToken", .text)
                t.add(column: "ownerHost", .text)
                t.add(column: "ownerPid", .integer)
                t.add(column: "leaseRenewedAt", .datetime)
                t.add(column: "leaseExpiresAt", .datetime)
            }
            try db.alter(table: "message") { t in
                t.add(column: "truncated", .boolean).notNull().defaults(to: false)
            }
        }
        migrator.registerMigration("v4-usage") { db in
            try db.alter(table: "message") { t in
                t.add(column: "promptTokens", .integer)
                t.add(column: "completionTokens", .integer)
            }
        }
        migrator.registerMigration("v5-items") { db in
            // Measures that are not a suite of conversations (pairwise task choices, ...)
            // keep their answers here, one JSON payload per key, written once.
            try db.create(table: "runItem") { t in
                t.column("runId", .text).notNull().references("run", onDelete: .cascade)
                t.column("key", .text).notNull()
                t.column("json", .text).notNull()
                t.column("createdAt", .datetime).notNull()
                t.primaryKey(["runId", "key"])
            }
        }
        return migrator
    }
}

public enum StoreError: Error, CustomStringConvertible, Sendable, Equatable {
    case cannotOpen(path: String, detail: String)
    case noSuchRun(String)
    case corruptRecord(String)
    case runExists(String)
    /// Another process holds the run's lease: who, how long since it last renewed it, and
    /// how long until it expires.
    case runOwned(runID: String, owner: String, renewedSecondsAgo: Int, expiresInSeconds: Int)
    /// This process's lease was taken over (it stalled past its expiry); it must stop writing.
    case leaseLost(String)
    case readOnlyMissing(String)

    public var description: String {
        switch self {
        case .runExists(let id): return "a run with id '\(id)' already exists; nothing was written"
        case .runOwned(let id, let owner, let renewed, let expires):
            return "run \(id) is being executed by \(owner) (lease renewed \(renewed) s ago, expires in \(expires) s); "
                + "wait for it to finish, or resume after the lease expires"
        case .leaseLost(let id): return "run \(id) was taken over by another process after this one's lease expired; stopped writing"
        case .readOnlyMissing(let path): return "no run database at \(path)"
        case .cannotOpen(let path, let detail): return "cannot open the run database \(path): \(detail)"
        case .noSuchRun(let id): return "no run '\(id)' in the database (see `welfare runs`)"
        case .corruptRecord(let detail): return "the run database holds a record that cannot be read: \(detail)"
        }
    }
}
