import Foundation
import GRDB

/// Every run lives in one database: an SQLite file (WAL), the embedded default, or a
/// PostgreSQL database shared by many workers (`postgres://...`). Both hold the same tables
/// and behave the same: each finished turn is committed on its own, so a killed run loses
/// at most the turns in flight, and `resume` (or another worker) redoes exactly those.
public final class RunStore: Sendable {
    /// Where the store is, as it may be shown: a file path, or a PostgreSQL address
    /// without its password.
    public let path: String
    let database: any SQLDatabase

    /// Opens (creating and migrating) the database at `path`, a file or a `postgres://`
    /// address. `readOnly` opens an existing store without touching its schema, for
    /// watching a run another process is writing; commands that only read (`runs`, `show`,
    /// `report`) open read-only, so they work on a database the user may not write.
    public convenience init(path: String, readOnly: Bool = false) throws {
        try self.init(location: try StoreLocation(path), readOnly: readOnly)
    }

    public init(location: StoreLocation, readOnly: Bool = false) throws {
        let path: String
        switch location {
        case .postgres(let postgres):
            let database = PostgresDatabase(location: postgres)
            self.path = postgres.display
            self.database = database
            if readOnly { try PostgresSchema.check(database) } else { try PostgresSchema.migrate(database) }
            return
        case .sqlite(let file):
            path = file
        }
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
            let pool = try DatabasePool(path: path, configuration: configuration)
            if !readOnly { try Self.migrate(pool) }
            database = SQLiteDatabase(writer: pool)
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
            return RunStore(path: ":memory:", database: SQLiteDatabase(writer: queue))
        } catch {
            throw StoreError.cannotOpen(path: "in-memory store", detail: oneLine(error))
        }
    }

    private init(path: String, database: any SQLDatabase) {
        self.path = path
        self.database = database
    }

    static func oneLine(_ error: Error) -> String {
        String(describing: error).split(separator: "\n").first.map(String.init) ?? "unknown error"
    }

    /// SQLite's schema, in GRDB migrations; `PostgresSchema` is the same in PostgreSQL's terms.
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
        migrator.registerMigration("v6-queue") { db in
            // Queued runs are worked by many processes, each holding a lease per sample (see
            // RunQueue).
            try db.alter(table: "sample") { t in
                t.add(column: "leaseToken", .text)
                t.add(column: "leaseHolder", .text)
                t.add(column: "leaseExpiresAt", .datetime)
                t.add(column: "attempts", .integer).notNull().defaults(to: 0)
            }
            try db.create(index: "sample_by_status", on: "sample", columns: ["runId", "status"])
        }
        migrator.registerMigration("v7-kind") { db in
            try db.execute(sql: RunStore.kindColumn)
            try db.execute(sql: RunStore.kindBackfill)
        }
        return migrator
    }

    /// What kind of run each row is. Runs stored before the column existed are suites, but for
    /// the two measures of keyed answers that existed then, recognised by the name they were
    /// stored under and the settings item only they wrote.
    static let kindColumn = "ALTER TABLE run ADD COLUMN kind text NOT NULL DEFAULT 'suite'"
    static let kindBackfill = """
        UPDATE run SET kind = suiteName WHERE suiteName IN ('preferences', 'self-reports')
          AND EXISTS (SELECT 1 FROM runItem WHERE runItem.runId = run.id AND runItem.key = 'settings')
        """
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
    /// A worker's claim on a sample of a queued run expired and another worker took it.
    case sampleLeaseLost(runID: String, sampleRowId: Int64)
    /// The run was created with `--enqueue`; workers execute it, not `resume`.
    case runQueued(String)
    /// The database refused a statement (PostgreSQL's message and code).
    case database(String)

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
        case .sampleLeaseLost(let id, let row):
            return "sample \(row) of run \(id) was taken over by another worker after this one's lease expired; stopped writing"
        case .runQueued(let id):
            return "run \(id) is queued for workers: a worker executes it, not a resume"
        case .database(let detail): return "the run database refused a statement: \(detail)"
        }
    }
}
