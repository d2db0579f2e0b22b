import Foundation
import GRDB
import WelfareCore
import WelfareEngine

public struct RunRecord: Codable, Sendable, FetchableRecord, PersistableRecord {
    public static let databaseTableName = "run"
    public var id: String
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

    public enum Columns {
        public static let id = Column(CodingKeys.id)
        public static let createdAt = Column(CodingKeys.createdAt)
        public static let status = Column(CodingKeys.status)
    }
}

public struct RunModelRecord: Codable, Sendable, FetchableRecord, PersistableRecord {
    public static let databaseTableName = "runModel"
    public var runId: String
    public var model: String
    public var factsJSON: String

    public enum Columns {
        public static let runId = Column(CodingKeys.runId)
    }
}

public struct SampleRecord: Codable, Sendable, FetchableRecord, MutablePersistableRecord {
    public static let databaseTableName = "sample"
    public var id: Int64?
    public var runId: String
    public var model: String
    public var sampleId: String
    public var epoch: Int
    public var status: Status
    public var error: String?
    public var metadataJSON: String
    public var finishedAt: Date?

    public mutating func didInsert(_ inserted: InsertionSuccess) { id = inserted.rowID }

    public enum Status: String, Codable, Sendable, DatabaseValueConvertible { case pending, done, failed }

    public enum Columns {
        public static let id = Column(CodingKeys.id)
        public static let runId = Column(CodingKeys.runId)
        public static let status = Column(CodingKeys.status)
    }
}

public struct MessageRecord: Codable, Sendable, FetchableRecord, MutablePersistableRecord {
    public static let databaseTableName = "message"
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

    public mutating func didInsert(_ inserted: InsertionSuccess) { id = inserted.rowID }

    public var chatMessage: ChatMessage { ChatMessage(role: role, content: content) }

    public enum Columns {
        public static let sampleRowId = Column(CodingKeys.sampleRowId)
        public static let position = Column(CodingKeys.position)
    }
}

public struct ScoreRecord: Codable, Sendable, FetchableRecord, MutablePersistableRecord {
    public static let databaseTableName = "score"
    public var id: Int64?
    public var sampleRowId: Int64
    public var scorer: String
    public var turn: Int
    public var value: Double?
    public var label: String?
    public var evidence: String?
    public var reasoning: String?
    public var detailJSON: String?

    public mutating func didInsert(_ inserted: InsertionSuccess) { id = inserted.rowID }
}

struct ResponseCacheRecord: Codable, FetchableRecord, PersistableRecord {
    static let databaseTableName = "responseCache"
    var key: String
    var responseJSON: String
    var createdAt: Date
}

/// A result computed over many samples of a run (e.g. the consistency of one aspect's
/// interviews), stored beside the run.
public struct AnalysisRecord: Codable, Sendable, FetchableRecord, PersistableRecord {
    public static let databaseTableName = "runAnalysis"
    public var runId: String
    public var model: String
    public var name: String
    public var key: String
    public var value: Double?
    public var evidence: String?
    public var reasoning: String?

    public enum Columns {
        public static let runId = Column(CodingKeys.runId)
    }
}

extension ChatMessage.Role: DatabaseValueConvertible {}
