import Foundation

/// A sample a worker holds: its row, and the token every write of it is fenced with.
public struct SampleClaim: Sendable {
    public var sample: SampleRecord
    public var owner: RunOwner
    public var runID: String { sample.runId }
    public var rowID: Int64 { sample.id ?? -1 }
}

/// Queued runs (`welfare run --enqueue`) are executed by any number of `welfare worker`
/// processes, on any machines that reach the store. A worker claims one pending sample at a
/// time under a lease it renews; on PostgreSQL the claim is `FOR UPDATE SKIP LOCKED`, so
/// workers never wait on each other's claims. A worker that dies stops renewing; when its
/// lease expires the sample is claimed again and continues after its last committed turn.
extension RunStore {
    /// Creates a run for workers: the same rows `createRun` writes, then `queued`, with no
    /// process owning it.
    public func enqueueRun(id: String, definition: RunDefinition, plan: SamplePlan, toolVersion: String,
                           onProgress: (_ created: Int, _ total: Int) -> Void = { _, _ in }) throws -> RunRecord {
        let owner = RunOwner()
        _ = try createRun(id: id, definition: definition, plan: plan, toolVersion: toolVersion, owner: owner, onProgress: onProgress)
        try handOverToWorkers(runID: id, owner: owner)
        return try run(id)
    }

    /// Ends `owner`'s hold on a run it created and marks it `queued`, for workers to execute
    /// (a run of keyed answers stores its settings first, as its creator).
    public func handOverToWorkers(runID: String, owner: RunOwner) throws {
        try database.write { db in
            try Self.checkOwner(db, runID: runID, owner: owner, forUpdate: true)
            try db.execute("""
                UPDATE run SET status = ?, ownerToken = NULL, ownerHost = NULL, ownerPid = NULL, leaseRenewedAt = NULL,
                  leaseExpiresAt = NULL WHERE id = ?
                """, [RunStatus.queued.rawValue, runID])
            try Self.finishQueuedRun(db, runID: runID)
        }
    }

    /// Claims the first pending sample of any queued run whose lease is free or expired.
    /// A sample already claimed `maxAttempts` times (its workers kept dying on it) is marked
    /// failed instead of being handed out again.
    public func claimSample(worker: RunOwner, policy: LeasePolicy, maxAttempts: Int, now: Date = Date()) async throws -> SampleClaim? {
        try await database.write { db in
            let skipLocked = db.dialect == .postgres ? " FOR UPDATE OF sample SKIP LOCKED" : ""
            while true {
                guard let row = try db.row("""
                    SELECT sample.* FROM sample JOIN run ON run.id = sample.runId
                    WHERE run.status = ? AND sample.status = ? AND (sample.leaseExpiresAt IS NULL OR sample.leaseExpiresAt < ?)
                    ORDER BY sample.id LIMIT 1\(skipLocked)
                    """, [RunStatus.queued.rawValue, SampleRecord.Status.pending.rawValue, now]) else { return nil }
                var sample = try SampleRecord(row: row)
                let rowID = try row.int64("id")
                if sample.attempts >= maxAttempts {
                    try db.execute("""
                        UPDATE sample SET status = ?, error = ?, leaseToken = NULL, leaseHolder = NULL, leaseExpiresAt = NULL WHERE id = ?
                        """, [SampleRecord.Status.failed.rawValue,
                              "abandoned: claimed \(sample.attempts) times by workers that stopped before finishing it", rowID])
                    try Self.finishQueuedRun(db, runID: sample.runId)
                    continue
                }
                let claim = RunOwner(host: worker.host, pid: worker.pid)
                try db.execute("UPDATE sample SET leaseToken = ?, leaseHolder = ?, leaseExpiresAt = ?, attempts = attempts + 1 WHERE id = ?",
                               [claim.token, worker.label, now.addingTimeInterval(policy.seconds), rowID])
                sample.attempts += 1
                return SampleClaim(sample: sample, owner: claim)
            }
        }
    }

    /// Extends the leases of the claims still held; returns the tokens that were lost (their
    /// lease expired and another worker took the sample, or it was finished).
    public func renewSampleLeases(_ claims: [SampleClaim], policy: LeasePolicy, now: Date = Date()) async throws -> Set<String> {
        guard !claims.isEmpty else { return [] }
        let tokens = claims.map(\.owner.token)
        return try await database.write { db in
            var lost: Set<String> = []
            for token in tokens {
                let changed = try db.execute("UPDATE sample SET leaseExpiresAt = ? WHERE leaseToken = ? AND status = ?",
                                             [now.addingTimeInterval(policy.seconds), token, SampleRecord.Status.pending.rawValue])
                if changed == 0 { lost.insert(token) }
            }
            return lost
        }
    }

    /// Gives a claim back without finishing it (a worker stopping cleanly), so another worker
    /// can take it at once; the claim does not count as an attempt.
    public func releaseClaim(_ claim: SampleClaim) throws {
        try database.write { db in
            try db.execute("""
                UPDATE sample SET leaseToken = NULL, leaseHolder = NULL, leaseExpiresAt = NULL,
                  attempts = CASE WHEN attempts > 0 THEN attempts - 1 ELSE 0 END WHERE id = ? AND leaseToken = ?
                """, [claim.rowID, claim.owner.token])
        }
    }

    /// Work left in queued runs, claimed or not: pending samples, and queued runs of
    /// `wholeKinds` (executed as a whole). A worker that finds nothing to claim but this above
    /// zero waits for other workers' leases to end or expire.
    public func queuedPendingCount(wholeKinds: [RunKindID] = []) throws -> Int {
        try database.read { db in
            let samples = try db.count("""
                SELECT count(*) FROM sample JOIN run ON run.id = sample.runId WHERE run.status = ? AND sample.status = ?
                """, [RunStatus.queued.rawValue, SampleRecord.Status.pending.rawValue])
            guard !wholeKinds.isEmpty else { return samples }
            let places = Array(repeating: "?", count: wholeKinds.count).joined(separator: ", ")
            return try samples + db.count("SELECT count(*) FROM run WHERE status = ? AND kind IN (\(places))",
                                          [RunStatus.queued.rawValue] + wholeKinds.map(\.rawValue))
        }
    }

    /// Claims the oldest queued run of one of `kinds` (runs executed as a whole by one worker
    /// at a time, such as the keyed answers of a measure) that no live worker holds: its run
    /// lease goes to `worker`, and it stays `queued` until the worker finishes it. A worker
    /// killed on it stops renewing, and the next worker takes it over when the lease expires.
    public func claimQueuedRun(worker: RunOwner, kinds: [RunKindID], policy: LeasePolicy, now: Date = Date()) async throws -> RunRecord? {
        guard !kinds.isEmpty else { return nil }
        return try await database.write { db in
            let skipLocked = db.dialect == .postgres ? " FOR UPDATE SKIP LOCKED" : ""
            let places = Array(repeating: "?", count: kinds.count).joined(separator: ", ")
            guard let row = try db.row("""
                SELECT * FROM run WHERE status = ? AND kind IN (\(places)) AND (leaseExpiresAt IS NULL OR leaseExpiresAt < ?)
                ORDER BY createdAt, id LIMIT 1\(skipLocked)
                """, [RunStatus.queued.rawValue] + kinds.map(\.rawValue) + [now]) else { return nil }
            let id = try row.text("id")
            try Self.writeLease(db, runID: id, owner: worker, policy: policy, now: now)
            guard let claimed = try db.row("SELECT * FROM run WHERE id = ?", [id]) else { throw StoreError.noSuchRun(id) }
            return try RunRecord(row: claimed)
        }
    }

    /// Closes a queued run once none of its samples is pending: `done`, or `incomplete` when
    /// any failed. The run row is locked first, so of two workers finishing the last samples
    /// at once exactly one sees none left.
    static func finishQueuedRun(_ db: any SQLExecutor, runID: String) throws {
        // Runs executed as a whole have no samples; their executor closes them.
        guard let row = try db.row("SELECT status, kind FROM run WHERE id = ?", [runID]), try row.text("status") == RunStatus.queued.rawValue,
              try row.textOrNil("kind") ?? RunKindID.suite.rawValue == RunKindID.suite.rawValue else {
            return
        }
        if db.dialect == .postgres { _ = try db.rows("SELECT id FROM run WHERE id = ? FOR UPDATE", [runID]) }
        let pending = try db.count("SELECT count(*) FROM sample WHERE runId = ? AND status = ?", [runID, SampleRecord.Status.pending.rawValue])
        guard pending == 0 else { return }
        let failed = try db.count("SELECT count(*) FROM sample WHERE runId = ? AND status = ?", [runID, SampleRecord.Status.failed.rawValue])
        try db.execute("UPDATE run SET status = ?, finishedAt = ? WHERE id = ? AND status = ?",
                       [(failed == 0 ? RunStatus.done : RunStatus.incomplete).rawValue, Date(), runID, RunStatus.queued.rawValue])
    }
}
