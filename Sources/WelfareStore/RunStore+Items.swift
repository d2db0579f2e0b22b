import Foundation

/// Answers of measures that are not suites of conversations, each under a key of the
/// measure's choosing ("choice/prefer/3/t012/t047"). A key is written once: a second write
/// of the same key (a resumed execution redoing the step it was killed in) is ignored, so
/// nothing is stored twice, and every write checks that the run is still the writer's own.
extension RunStore {
    public func recordItem<T: Encodable>(_ value: T, key: String, runID: String, owner: RunOwner) async throws {
        let json = try Self.json(value)
        try await database.write { db in
            try Self.checkOwner(db, runID: runID, owner: owner)
            try db.execute("INSERT INTO runItem (runId, key, json, createdAt) VALUES (?, ?, ?, ?) ON CONFLICT (runId, key) DO NOTHING",
                           [runID, key, json, Date()])
        }
    }

    /// The run's items whose key starts with `prefix`, decoded, by key.
    public func items<T: Decodable>(_ type: T.Type, runID: String, prefix: String = "") throws -> [String: T] {
        let rows = try database.read { db in
            try db.rows("SELECT key, json FROM runItem WHERE runId = ? AND substr(key, 1, length(?)) = ?",
                        [runID, prefix, prefix])
        }
        var decoded: [String: T] = [:]
        for row in rows {
            let key = try row.text("key")
            decoded[key] = try Self.decode(type, try row.text("json"), what: "item \(key) of run \(runID)")
        }
        return decoded
    }

    public func itemCount(runID: String, prefix: String = "") throws -> Int {
        try database.read { db in
            try db.count("SELECT count(*) FROM runItem WHERE runId = ? AND substr(key, 1, length(?)) = ?", [runID, prefix, prefix])
        }
    }
}
