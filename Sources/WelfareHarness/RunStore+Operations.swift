import Foundation
import GRDB
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

    /// Creates the run and one pending row per model x sample x epoch, in one transaction.
    public func createRun(id: String, suite: SuiteSpec, settings: RunSettings, toolVersion: String) throws -> RunRecord {
        let run = RunRecord(id: id, suiteName: suite.name, suiteHash: suite.contentHash, suiteJSON: try Self.json(suite),
                            settingsJSON: try Self.json(settings), toolVersion: toolVersion, status: "running",
                            createdAt: Date(), finishedAt: nil)
        let epochs = settings.epochsOverride ?? suite.epochs
        try database.write { db in
            try run.insert(db)
            for model in settings.models {
                for sample in suite.samples {
                    for epoch in 1...epochs {
                        var row = SampleRecord(id: nil, runId: id, model: model, sampleId: sample.id, epoch: epoch,
                                               status: SampleRecord.Status.pending.rawValue, error: nil,
                                               metadataJSON: try Self.json(sample.metadata), finishedAt: nil)
                        try row.insert(db)
                    }
                }
            }
        }
        return run
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
        try database.read { try RunRecord.order(Column("createdAt").desc).fetchAll($0) }
    }

    public func suite(of run: RunRecord) throws -> SuiteSpec {
        try Self.decode(SuiteSpec.self, run.suiteJSON, what: "suite of run \(run.id)")
    }

    public func settings(of run: RunRecord) throws -> RunSettings {
        try Self.decode(RunSettings.self, run.settingsJSON, what: "settings of run \(run.id)")
    }

    public func modelFacts(runId: String) throws -> [String: [String: String]] {
        let rows = try database.read { try RunModelRecord.filter(Column("runId") == runId).fetchAll($0) }
        var facts: [String: [String: String]] = [:]
        for row in rows { facts[row.model] = try Self.decode([String: String].self, row.factsJSON, what: "facts of \(row.model)") }
        return facts
    }

    public func samples(runId: String) throws -> [SampleRecord] {
        try database.read { try SampleRecord.filter(Column("runId") == runId).order(Column("id")).fetchAll($0) }
    }

    public func unfinishedSamples(runId: String) throws -> [SampleRecord] {
        try database.read {
            try SampleRecord.filter(Column("runId") == runId && Column("status") != SampleRecord.Status.done.rawValue)
                .order(Column("id")).fetchAll($0)
        }
    }

    public func messages(sampleRowId: Int64) throws -> [MessageRecord] {
        try database.read { try MessageRecord.filter(Column("sampleRowId") == sampleRowId).order(Column("position")).fetchAll($0) }
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
    public func appendTurn(sampleRowId: Int64, messages: [MessageRecord]) throws {
        try database.write { db in
            for var message in messages { try message.insert(db) }
        }
    }

    /// Stores the scores and marks the sample done in one transaction, replacing any
    /// earlier scores of the same scorer and turn.
    public func finishSample(sampleRowId: Int64, scores: [ScoreRecord]) throws {
        try database.write { db in
            for var score in scores {
                try score.upsert(db)
            }
            try db.execute(sql: "UPDATE sample SET status = ?, error = NULL, finishedAt = ? WHERE id = ?",
                           arguments: [SampleRecord.Status.done.rawValue, Date(), sampleRowId])
        }
    }

    public func failSample(sampleRowId: Int64, error: String) throws {
        try database.write { db in
            try db.execute(sql: "UPDATE sample SET status = ?, error = ? WHERE id = ?",
                           arguments: [SampleRecord.Status.failed.rawValue, error, sampleRowId])
        }
    }

    public func setRunStatus(_ id: String, status: String) throws {
        try database.write { db in
            try db.execute(sql: "UPDATE run SET status = ?, finishedAt = ? WHERE id = ?",
                           arguments: [status, status == "running" ? nil : Date(), id])
        }
    }

    public func saveAnalysis(_ record: AnalysisRecord) throws {
        try database.write { db in try record.save(db) }
    }

    public func analyses(runId: String) throws -> [AnalysisRecord] {
        try database.read { try AnalysisRecord.filter(Column("runId") == runId).fetchAll($0) }
    }

    // MARK: - Response cache

    public func cachedResponse(key: String) throws -> ChatCompletion? {
        guard let row = try database.read({ try ResponseCacheRecord.fetchOne($0, key: key) }) else { return nil }
        return try? JSONDecoder().decode(ChatCompletion.self, from: Data(row.responseJSON.utf8))
    }

    public func cacheResponse(key: String, completion: ChatCompletion) throws {
        try database.write { db in
            try ResponseCacheRecord(key: key, responseJSON: try Self.json(completion), createdAt: Date()).save(db)
        }
    }
}
