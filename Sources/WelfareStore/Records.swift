import Foundation
import WelfareCore

/// The stored records, one per table row, read from rows of either store.
public struct RunRecord: Codable, Sendable {
    public var id: String
    /// What kind of work the run is (conversations of a suite, the keyed answers of a
    /// measure); the run-kind registry reads it to resume, execute and report the run.
    public var kind: RunKindID
    /// The suite's name, or the measure's for a run of keyed answers.
    public var suiteName: String
    public var suiteHash: String
    public var suiteJSON: String
    public var settingsJSON: String
    public var toolVersion: String
    public var status: RunStatus
    public var createdAt: Date
    public var finishedAt: Date?
    public var ownerToken: String?
    public var ownerHost: String?
    public var ownerPid: Int32?
    public var leaseRenewedAt: Date?
    public var leaseExpiresAt: Date?

    init(row: SQLRow) throws {
        id = try row.text("id")
        kind = RunKindID(rawValue: try row.textOrNil("kind") ?? RunKindID.suite.rawValue)
        suiteName = try row.text("suiteName")
        suiteHash = try row.text("suiteHash")
        suiteJSON = try row.text("suiteJSON")
        settingsJSON = try row.text("settingsJSON")
        toolVersion = try row.text("toolVersion")
        status = try row.decode(RunStatus.self, "status")
        createdAt = try row.date("createdAt")
        finishedAt = try row.dateOrNil("finishedAt")
        ownerToken = try row.textOrNil("ownerToken")
        ownerHost = try row.textOrNil("ownerHost")
        ownerPid = try row.int64OrNil("ownerPid").map { Int32(truncatingIfNeeded: $0) }
        leaseRenewedAt = try row.dateOrNil("leaseRenewedAt")
        leaseExpiresAt = try row.dateOrNil("leaseExpiresAt")
    }

    init(id: String, definition: RunDefinition, toolVersion: String, status: RunStatus, createdAt: Date, owner: RunOwner?,
         leaseExpiresAt: Date?) {
        self.id = id
        kind = definition.kind
        suiteName = definition.name
        suiteHash = definition.hash
        suiteJSON = definition.json
        settingsJSON = definition.settingsJSON
        self.toolVersion = toolVersion
        self.status = status
        self.createdAt = createdAt
        ownerToken = owner?.token
        ownerHost = owner?.host
        ownerPid = owner?.pid
        leaseRenewedAt = owner == nil ? nil : createdAt
        self.leaseExpiresAt = leaseExpiresAt
    }

    /// Inserts the run unless its id is taken; the number of rows written (0: taken).
    func insertIfNew(_ db: any SQLExecutor) throws -> Int {
        try db.execute("""
            INSERT INTO run (id, kind, suiteName, suiteHash, suiteJSON, settingsJSON, toolVersion, status, createdAt, finishedAt,
              ownerToken, ownerHost, ownerPid, leaseRenewedAt, leaseExpiresAt) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
            ON CONFLICT (id) DO NOTHING
            """, [id, kind.rawValue, suiteName, suiteHash, suiteJSON, settingsJSON, toolVersion, status.rawValue, createdAt, finishedAt,
                  ownerToken, ownerHost, ownerPid, leaseRenewedAt, leaseExpiresAt])
    }
}

public struct SampleRecord: Codable, Sendable {
    public var id: Int64?
    public var runId: String
    public var model: String
    public var sampleId: String
    public var epoch: Int
    public var status: Status
    public var error: String?
    public var metadataJSON: String
    public var finishedAt: Date?
    /// How many times a worker claimed the sample (queued runs; 0 in a run executed in process).
    public var attempts: Int

    public enum Status: String, Codable, Sendable { case pending, done, failed }

    init(row: SQLRow) throws {
        id = try row.int64("id")
        runId = try row.text("runId")
        model = try row.text("model")
        sampleId = try row.text("sampleId")
        epoch = try row.int("epoch")
        status = try row.decode(Status.self, "status")
        error = try row.textOrNil("error")
        metadataJSON = try row.text("metadataJSON")
        finishedAt = try row.dateOrNil("finishedAt")
        attempts = try row.intOrNil("attempts") ?? 0
    }
}

public struct MessageRecord: Codable, Sendable {
    public var id: Int64?
    public var sampleRowId: Int64
    public var position: Int
    /// The assistant turn this message belongs to (1-based); system messages are turn 0.
    public var turn: Int
    public var role: ChatMessage.Role
    public var content: String
    public var cached: Bool
    public var latencyMs: Double?
    public var createdAt: Date
    /// The reply was longer than a stored reply may be and was cut (see `StoredReply`).
    public var truncated: Bool = false
    /// Tokens the model counted for the request and the reply (assistant messages; nil
    /// where the model did not say).
    public var promptTokens: Int?
    public var completionTokens: Int?

    public init(id: Int64? = nil, sampleRowId: Int64, position: Int, turn: Int, role: ChatMessage.Role, content: String, cached: Bool,
                latencyMs: Double?, createdAt: Date, truncated: Bool = false, promptTokens: Int? = nil, completionTokens: Int? = nil) {
        self.id = id
        self.sampleRowId = sampleRowId
        self.position = position
        self.turn = turn
        self.role = role
        self.content = content
        self.cached = cached
        self.latencyMs = latencyMs
        self.createdAt = createdAt
        self.truncated = truncated
        self.promptTokens = promptTokens
        self.completionTokens = completionTokens
    }

    init(row: SQLRow) throws {
        id = try row.int64("id")
        sampleRowId = try row.int64("sampleRowId")
        position = try row.int("position")
        turn = try row.int("turn")
        role = try row.decode(ChatMessage.Role.self, "role")
        content = try row.text("content")
        cached = try row.bool("cached")
        latencyMs = try row.doubleOrNil("latencyMs")
        createdAt = try row.date("createdAt")
        truncated = try row.bool("truncated")
        promptTokens = try row.intOrNil("promptTokens")
        completionTokens = try row.intOrNil("completionTokens")
    }

    public var chatMessage: ChatMessage { ChatMessage(role: role, content: content) }

    func insert(_ db: any SQLExecutor) throws {
        try db.execute("""
            INSERT INTO message (sampleRowId, position, turn, role, content, cached, latencyMs, createdAt, truncated, promptTokens,
              completionTokens) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
            """, [sampleRowId, position, turn, role.rawValue, content, cached, latencyMs, createdAt, truncated, promptTokens,
                  completionTokens])
    }
}

public struct ScoreRecord: Codable, Sendable {
    public var id: Int64?
    public var sampleRowId: Int64
    public var scorer: String
    public var turn: Int
    public var value: Double?
    public var label: String?
    public var evidence: String?
    public var reasoning: String?
    public var detailJSON: String?

    public init(id: Int64? = nil, sampleRowId: Int64, scorer: String, turn: Int, value: Double?, label: String?, evidence: String?,
                reasoning: String?, detailJSON: String?) {
        self.id = id
        self.sampleRowId = sampleRowId
        self.scorer = scorer
        self.turn = turn
        self.value = value
        self.label = label
        self.evidence = evidence
        self.reasoning = reasoning
        self.detailJSON = detailJSON
    }

    init(row: SQLRow) throws {
        id = try row.int64("id")
        sampleRowId = try row.int64("sampleRowId")
        scorer = try row.text("scorer")
        turn = try row.int("turn")
        value = try row.doubleOrNil("value")
        label = try row.textOrNil("label")
        evidence = try row.textOrNil("evidence")
        reasoning = try row.textOrNil("reasoning")
        detailJSON = try row.textOrNil("detailJSON")
    }

    /// Replaces an earlier score of the same scorer and turn.
    func upsert(_ db: any SQLExecutor) throws {
        try db.execute("""
            INSERT INTO score (sampleRowId, scorer, turn, value, label, evidence, reasoning, detailJSON) VALUES (?, ?, ?, ?, ?, ?, ?, ?)
            ON CONFLICT (sampleRowId, scorer, turn) DO UPDATE SET value = excluded.value, label = excluded.label,
              evidence = excluded.evidence, reasoning = excluded.reasoning, detailJSON = excluded.detailJSON
            """, [sampleRowId, scorer, turn, value, label, evidence, reasoning, detailJSON])
    }
}

/// A result computed over many samples of a run (e.g. the consistency of one aspect's
/// interviews), stored beside the run.
public struct AnalysisRecord: Codable, Sendable {
    public var runId: String
    public var model: String
    public var name: String
    public var key: String
    public var value: Double?
    public var evidence: String?
    public var reasoning: String?

    public init(runId: String, model: String, name: String, key: String, value: Double?, evidence: String?, reasoning: String?) {
        self.runId = runId
        self.model = model
        self.name = name
        self.key = key
        self.value = value
        self.evidence = evidence
        self.reasoning = reasoning
    }

    init(row: SQLRow) throws {
        runId = try row.text("runId")
        model = try row.text("model")
        name = try row.text("name")
        key = try row.text("key")
        value = try row.doubleOrNil("value")
        evidence = try row.textOrNil("evidence")
        reasoning = try row.textOrNil("reasoning")
    }

    func upsert(_ db: any SQLExecutor) throws {
        try db.execute("""
            INSERT INTO runAnalysis (runId, model, name, key, value, evidence, reasoning) VALUES (?, ?, ?, ?, ?, ?, ?)
            ON CONFLICT (runId, model, name, key) DO UPDATE SET value = excluded.value, evidence = excluded.evidence,
              reasoning = excluded.reasoning
            """, [runId, model, name, key, value, evidence, reasoning])
    }
}
