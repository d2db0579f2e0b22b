import Foundation
import WelfareCore

extension RunStore {
    public static func json<T: Encodable>(_ value: T) throws -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        return String(decoding: try encoder.encode(value), as: UTF8.self)
    }

    public static func decode<T: Decodable>(_ type: T.Type, _ text: String, what: String) throws -> T {
        do { return try JSONDecoder().decode(type, from: Data(text.utf8)) } catch {
            throw StoreError.corruptRecord(what)
        }
    }

    /// Sample rows are written this many to a transaction, so a run of many epochs shows
    /// progress from the start and never holds one huge transaction.
    public static let sampleBatchSize = 2000

    /// Creates the run, owned by `owner`, then its sample rows (`plan`; none for a run of
    /// keyed answers) in batches. A clash of ids fails loudly: nothing is merged into an
    /// existing run.
    public func createRun(id: String, definition: RunDefinition, plan: SamplePlan, toolVersion: String, owner: RunOwner,
                          policy: LeasePolicy = LeasePolicy(),
                          onProgress: (_ created: Int, _ total: Int) -> Void = { _, _ in }) throws -> RunRecord {
        let now = Date()
        let run = RunRecord(id: id, definition: definition, toolVersion: toolVersion, status: .creating, createdAt: now,
                            owner: owner, leaseExpiresAt: now.addingTimeInterval(policy.seconds))
        try database.write { db in
            if try db.count("SELECT count(*) FROM run WHERE id = ?", [id]) > 0 { throw StoreError.runExists(id) }
            // Two processes creating one id at once: the loser's insert is ignored here and
            // it is told, as above, rather than failing on the key.
            if try run.insertIfNew(db) == 0 { throw StoreError.runExists(id) }
        }
        try createSamples(runID: id, plan: plan, owner: owner, onProgress: onProgress)
        return run
    }

    /// Writes the sample rows a run is still missing (all of them, or the rest after an
    /// interrupted creation), then marks it running.
    public func createSamples(runID: String, plan: SamplePlan, owner: RunOwner,
                              onProgress: (_ created: Int, _ total: Int) -> Void = { _, _ in }) throws {
        var keys: [(model: String, sample: Int, epoch: Int)] = []
        keys.reserveCapacity(plan.rowCount)
        for model in plan.models {
            for sample in plan.samples.indices {
                for epoch in 1...max(1, plan.epochs) { keys.append((model, sample, epoch)) }
            }
        }
        var created = 0
        onProgress(0, keys.count)
        while created < keys.count {
            if Task.isCancelled { throw CancellationError() }
            let batch = Array(keys[created..<min(keys.count, created + Self.sampleBatchSize)])
            try database.write { db in
                try Self.checkOwner(db, runID: runID, owner: owner)
                for key in batch {
                    let sample = plan.samples[key.sample]
                    try db.execute("""
                        INSERT INTO sample (runId, model, sampleId, epoch, status, metadataJSON) VALUES (?, ?, ?, ?, ?, ?)
                        ON CONFLICT (runId, model, sampleId, epoch) DO NOTHING
                        """, [runID, key.model, sample.id, key.epoch, SampleRecord.Status.pending.rawValue, sample.metadataJSON])
                }
            }
            created += batch.count
            onProgress(created, keys.count)
        }
        try database.write { db in
            try Self.checkOwner(db, runID: runID, owner: owner)
            try db.execute("UPDATE run SET status = ? WHERE id = ?", [RunStatus.running.rawValue, runID])
        }
    }

    public func recordModelFacts(runId: String, model: String, facts: [String: String]) throws {
        let json = try Self.json(facts)
        try database.write { db in
            try db.execute("""
                INSERT INTO runModel (runId, model, factsJSON) VALUES (?, ?, ?)
                ON CONFLICT (runId, model) DO UPDATE SET factsJSON = excluded.factsJSON
                """, [runId, model, json])
        }
    }

    public func run(_ id: String) throws -> RunRecord {
        guard let row = try database.read({ try $0.row("SELECT * FROM run WHERE id = ?", [id]) }) else { throw StoreError.noSuchRun(id) }
        return try RunRecord(row: row)
    }

    public func runs() throws -> [RunRecord] {
        try database.read { try $0.rows("SELECT * FROM run ORDER BY createdAt DESC", []) }.map(RunRecord.init(row:))
    }

    public func modelFacts(runId: String) throws -> [String: [String: String]] {
        let rows = try database.read { try $0.rows("SELECT model, factsJSON FROM runModel WHERE runId = ?", [runId]) }
        var facts: [String: [String: String]] = [:]
        for row in rows {
            let model = try row.text("model")
            facts[model] = try Self.decode([String: String].self, try row.text("factsJSON"), what: "facts of \(model)")
        }
        return facts
    }

    public func samples(runId: String) throws -> [SampleRecord] {
        try database.read { try $0.rows("SELECT * FROM sample WHERE runId = ? ORDER BY id", [runId]) }.map(SampleRecord.init(row:))
    }

    public func unfinishedSamples(runId: String) throws -> [SampleRecord] {
        try database.read {
            try $0.rows("SELECT * FROM sample WHERE runId = ? AND status <> ? ORDER BY id", [runId, SampleRecord.Status.done.rawValue])
        }.map(SampleRecord.init(row:))
    }

    public func messages(sampleRowId: Int64) async throws -> [MessageRecord] {
        try await database.read { db in
            try db.rows("SELECT * FROM message WHERE sampleRowId = ? ORDER BY position", [sampleRowId]).map(MessageRecord.init(row:))
        }
    }

    public func messages(runId: String) throws -> [Int64: [MessageRecord]] {
        let rows = try database.read { db in
            try db.rows("""
                SELECT message.* FROM message JOIN sample ON sample.id = message.sampleRowId
                WHERE sample.runId = ? ORDER BY message.sampleRowId, message.position
                """, [runId])
        }.map(MessageRecord.init(row:))
        return Dictionary(grouping: rows, by: \.sampleRowId)
    }

    public func scores(runId: String) throws -> [ScoreRecord] {
        try database.read { db in
            try db.rows("""
                SELECT score.* FROM score JOIN sample ON sample.id = score.sampleRowId
                WHERE sample.runId = ? ORDER BY score.sampleRowId, score.scorer, score.turn
                """, [runId])
        }.map(ScoreRecord.init(row:))
    }

    /// Commits one finished turn (the user message and the reply, plus the system message on
    /// the first turn) atomically: a turn is stored whole or not at all.
    public func appendTurn(sampleRowId: Int64, messages: [MessageRecord], owner: RunOwner, runID: String) async throws {
        try await database.write { db in
            try Self.checkOwner(db, runID: runID, owner: owner, sampleRowId: sampleRowId)
            for message in messages { try message.insert(db) }
        }
    }

    /// Stores the scores and marks the sample done in one transaction, replacing any
    /// earlier scores of the same scorer and turn.
    public func finishSample(sampleRowId: Int64, scores: [ScoreRecord], owner: RunOwner, runID: String) async throws {
        try await database.write { db in
            try Self.checkOwner(db, runID: runID, owner: owner, sampleRowId: sampleRowId)
            for score in scores { try score.upsert(db) }
            try db.execute("""
                UPDATE sample SET status = ?, error = NULL, finishedAt = ?, leaseToken = NULL, leaseHolder = NULL, leaseExpiresAt = NULL
                WHERE id = ?
                """, [SampleRecord.Status.done.rawValue, Date(), sampleRowId])
            try Self.finishQueuedRun(db, runID: runID)
        }
    }

    public func failSample(sampleRowId: Int64, error: String, owner: RunOwner, runID: String) async throws {
        try await database.write { db in
            try Self.checkOwner(db, runID: runID, owner: owner, sampleRowId: sampleRowId)
            try db.execute("""
                UPDATE sample SET status = ?, error = ?, leaseToken = NULL, leaseHolder = NULL, leaseExpiresAt = NULL WHERE id = ?
                """, [SampleRecord.Status.failed.rawValue, error, sampleRowId])
            try Self.finishQueuedRun(db, runID: runID)
        }
    }

    public func saveAnalysis(_ record: AnalysisRecord) throws {
        try database.write { db in try record.upsert(db) }
    }

    public func analyses(runId: String) throws -> [AnalysisRecord] {
        try database.read { try $0.rows("SELECT * FROM runAnalysis WHERE runId = ?", [runId]) }.map(AnalysisRecord.init(row:))
    }

    // MARK: - Response cache

    /// A cached reply's JSON, by the key its request hashed to.
    public func cachedResponseJSON(key: String) async throws -> String? {
        let json = try await database.read { db in try db.row("SELECT responseJSON FROM responseCache WHERE key = ?", [key]) }
        return try json?.text("responseJSON")
    }

    public func cacheResponseJSON(key: String, json: String) async throws {
        try await database.write { db in
            try db.execute("""
                INSERT INTO responseCache (key, responseJSON, createdAt) VALUES (?, ?, ?)
                ON CONFLICT (key) DO UPDATE SET responseJSON = excluded.responseJSON, createdAt = excluded.createdAt
                """, [key, json, Date()])
        }
    }
}
