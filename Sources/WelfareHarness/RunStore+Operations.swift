import Foundation
import GRDB
import WelfareCore
import WelfareEngine
import WelfareModels

/// What a run was started with, stored beside it so `resume` needs nothing else.
public struct RunSettings: Codable, Sendable, Equatable {
    public var models: [String]
    public var judge: String?
    public var seed: UInt32
    public var epochsOverride: Int?
    /// Writes `.interviewer` turns; without one their fallback text is used.
    public var interviewer: String?

    public init(models: [String], judge: String? = nil, seed: UInt32 = 0, epochsOverride: Int? = nil, interviewer: String? = nil) {
        self.models = models
        self.judge = judge
        self.seed = seed
        self.epochsOverride = epochsOverride
        self.interviewer = interviewer
    }
}

extension RunStore {
    static func json<T: Encodable>(_ value: T) throws -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        return String(decoding: try encoder.encode(value), as: UTF8.self)
    }

    static func decode<T: Decodable>(_ type: T.Type, _ text: String, what: String) throws -> T {
        do { return try JSONDecoder().decode(type, from: Data(text.utf8)) } catch {
            throw StoreError.corruptRecord(what)
        }
    }

    /// Sample rows are written this many to a transaction, so a run of many epochs shows
    /// progress from the start and never holds one huge transaction.
    public static let sampleBatchSize = 2000

    /// Creates the run, owned by `owner`, then one pending row per model x sample x epoch in
    /// batches. A clash of ids fails loudly: nothing is merged into an existing run.
    public func createRun(id: String, suite: SuiteSpec, settings: RunSettings, toolVersion: String, owner: RunOwner,
                          policy: LeasePolicy = LeasePolicy(),
                          onProgress: (_ created: Int, _ total: Int) -> Void = { _, _ in }) throws -> RunRecord {
        let now = Date()
        let run = RunRecord(id: id, suiteName: suite.name, suiteHash: suite.contentHash, suiteJSON: try Self.json(suite),
                            settingsJSON: try Self.json(settings), toolVersion: toolVersion, status: .creating,
                            createdAt: now, finishedAt: nil, ownerToken: owner.token, ownerHost: owner.host, ownerPid: owner.pid,
                            leaseRenewedAt: now, leaseExpiresAt: now.addingTimeInterval(policy.seconds))
        try exclusive { db in
            if try RunRecord.exists(db, key: id) { throw StoreError.runExists(id) }
            try run.insert(db)
        }
        try createSamples(runID: id, owner: owner, onProgress: onProgress)
        return run
    }

    /// Writes the sample rows a run is still missing (all of them, or the rest after an
    /// interrupted creation), then marks it running.
    public func createSamples(runID: String, owner: RunOwner, onProgress: (_ created: Int, _ total: Int) -> Void = { _, _ in }) throws {
        let run = try run(runID)
        let suite = try suite(of: run)
        let settings = try settings(of: run)
        let epochs = settings.epochsOverride ?? suite.epochs
        let metadata = try suite.samples.map { try Self.json($0.metadata) }
        var keys: [(model: String, sample: Int, epoch: Int)] = []
        keys.reserveCapacity(settings.models.count * suite.samples.count * epochs)
        for model in settings.models {
            for sample in suite.samples.indices {
                for epoch in 1...max(1, epochs) { keys.append((model, sample, epoch)) }
            }
        }
        var created = 0
        onProgress(0, keys.count)
        while created < keys.count {
            if Task.isCancelled { throw CancellationError() }
            let batch = keys[created..<min(keys.count, created + Self.sampleBatchSize)]
            try exclusive { db in
                try Self.checkOwner(db, runID: runID, owner: owner)
                for key in batch {
                    try db.execute(sql: """
                        INSERT OR IGNORE INTO sample (runId, model, sampleId, epoch, status, metadataJSON) VALUES (?, ?, ?, ?, ?, ?)
                        """, arguments: [runID, key.model, suite.samples[key.sample].id, key.epoch,
                                         SampleRecord.Status.pending.rawValue, metadata[key.sample]])
                }
            }
            created += batch.count
            onProgress(created, keys.count)
        }
        try exclusive { db in
            try Self.checkOwner(db, runID: runID, owner: owner)
            try db.execute(sql: "UPDATE run SET status = ? WHERE id = ?", arguments: [RunStatus.running.rawValue, runID])
        }
    }

    public func recordModelFacts(runId: String, model: String, facts: [String: String]) throws {
        try database.write { db in
            try RunModelRecord(runId: runId, model: model, factsJSON: try Self.json(facts)).save(db)
        }
    }

    public func run(_ id: String) throws -> RunRecord {
        guard let run = try database.read({ try RunRecord.fetchOne($0, key: id) }) else { throw StoreError.noSuchRun(id) }
        return run
    }

    public func runs() throws -> [RunRecord] {
        try database.read { try RunRecord.order(RunRecord.Columns.createdAt.desc).fetchAll($0) }
    }

    public func suite(of run: RunRecord) throws -> SuiteSpec {
        try Self.decode(SuiteSpec.self, run.suiteJSON, what: "suite of run \(run.id)")
    }

    public func settings(of run: RunRecord) throws -> RunSettings {
        try Self.decode(RunSettings.self, run.settingsJSON, what: "settings of run \(run.id)")
    }

    public func modelFacts(runId: String) throws -> [String: [String: String]] {
        let rows = try database.read { try RunModelRecord.filter(RunModelRecord.Columns.runId == runId).fetchAll($0) }
        var facts: [String: [String: String]] = [:]
        for row in rows { facts[row.model] = try Self.decode([String: String].self, row.factsJSON, what: "facts of \(row.model)") }
        return facts
    }

    public func samples(runId: String) throws -> [SampleRecord] {
        try database.read { try SampleRecord.filter(SampleRecord.Columns.runId == runId).order(SampleRecord.Columns.id).fetchAll($0) }
    }

    public func unfinishedSamples(runId: String) throws -> [SampleRecord] {
        try database.read {
            try SampleRecord.filter(SampleRecord.Columns.runId == runId && SampleRecord.Columns.status != SampleRecord.Status.done)
                .order(SampleRecord.Columns.id).fetchAll($0)
        }
    }

    public func messages(sampleRowId: Int64) async throws -> [MessageRecord] {
        try await database.read { try MessageRecord.filter(MessageRecord.Columns.sampleRowId == sampleRowId).order(MessageRecord.Columns.position).fetchAll($0) }
    }

    public func messages(runId: String) throws -> [Int64: [MessageRecord]] {
        let rows = try database.read { db in
            try MessageRecord.fetchAll(db, sql: """
                SELECT message.* FROM message JOIN sample ON sample.id = message.sampleRowId
                WHERE sample.runId = ? ORDER BY message.sampleRowId, message.position
                """, arguments: [runId])
        }
        return Dictionary(grouping: rows, by: \.sampleRowId)
    }

    public func scores(runId: String) throws -> [ScoreRecord] {
        try database.read { db in
            try ScoreRecord.fetchAll(db, sql: """
                SELECT score.* FROM score JOIN sample ON sample.id = score.sampleRowId
                WHERE sample.runId = ? ORDER BY score.sampleRowId, score.scorer, score.turn
                """, arguments: [runId])
        }
    }

    /// Commits one finished turn (the user message and the reply, plus the system message on
    /// the first turn) atomically: a turn is stored whole or not at all.
    public func appendTurn(sampleRowId: Int64, messages: [MessageRecord], owner: RunOwner, runID: String) async throws {
        try await exclusive { db in
            try Self.checkOwner(db, runID: runID, owner: owner)
            for var message in messages { try message.insert(db) }
        }
    }

    /// Stores the scores and marks the sample done in one transaction, replacing any
    /// earlier scores of the same scorer and turn.
    public func finishSample(sampleRowId: Int64, scores: [ScoreRecord], owner: RunOwner, runID: String) async throws {
        try await exclusive { db in
            try Self.checkOwner(db, runID: runID, owner: owner)
            for var score in scores {
                try score.upsert(db)
            }
            try db.execute(sql: "UPDATE sample SET status = ?, error = NULL, finishedAt = ? WHERE id = ?",
                           arguments: [SampleRecord.Status.done.rawValue, Date(), sampleRowId])
        }
    }

    public func failSample(sampleRowId: Int64, error: String, owner: RunOwner, runID: String) async throws {
        try await exclusive { db in
            try Self.checkOwner(db, runID: runID, owner: owner)
            try db.execute(sql: "UPDATE sample SET status = ?, error = ? WHERE id = ?",
                           arguments: [SampleRecord.Status.failed.rawValue, error, sampleRowId])
        }
    }

    public func saveAnalysis(_ record: AnalysisRecord) throws {
        try database.write { db in try record.save(db) }
    }

    public func analyses(runId: String) throws -> [AnalysisRecord] {
        try database.read { try AnalysisRecord.filter(AnalysisRecord.Columns.runId == runId).fetchAll($0) }
    }

    // MARK: - Response cache

    public func cachedResponse(key: String) async throws -> ChatCompletion? {
        guard let row = try await database.read({ try ResponseCacheRecord.fetchOne($0, key: key) }) else { return nil }
        return try? JSONDecoder().decode(ChatCompletion.self, from: Data(row.responseJSON.utf8))
    }

    public func cacheResponse(key: String, completion: ChatCompletion) async throws {
        let record = ResponseCacheRecord(key: key, responseJSON: try Self.json(completion), createdAt: Date())
        try await database.write { db in try record.save(db) }
    }
}
