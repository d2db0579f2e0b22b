import Foundation

/// The states a run goes through. `interrupted` is also what a `running` run whose owner is
/// gone reads as (see `RunStore.state(of:)`).
public enum RunStatus: String, Codable, Sendable, CaseIterable {
    /// Sample rows are still being written (a large run creates them in batches).
    case creating, running, done, incomplete, interrupted
    /// Created with `--enqueue`: worked by `welfare worker` processes, a sample at a time,
    /// until every sample is done or failed.
    case queued
}

/// The process executing a run. The token is new for every execution, so two executions in
/// one process are told apart; host and pid let a process on the same host see at once that
/// the owner is dead (kill -9) instead of waiting for the lease to expire.
public struct RunOwner: Sendable, Equatable {
    public var token: String
    public var host: String
    public var pid: Int32

    public init(token: String = UUID().uuidString, host: String = ProcessInfo.processInfo.hostName,
                pid: Int32 = ProcessInfo.processInfo.processIdentifier) {
        self.token = token
        self.host = host
        self.pid = pid
    }

    public var label: String { "pid \(pid) on \(host)" }
}

/// How long a lease lasts without renewal. The runner renews it every third of that.
public struct LeasePolicy: Sendable, Equatable {
    public var seconds: Double
    public init(seconds: Double = 30) { self.seconds = max(1, seconds) }
    public var renewalInterval: Double { seconds / 3 }

    /// Calls `renew` every renewal interval until cancelled. A failed renewal is left alone:
    /// a lost lease stops its holder at the next fenced write.
    public func heartbeat(_ renew: @escaping @Sendable () async throws -> Void) -> Task<Void, Never> {
        Task {
            while !Task.isCancelled {
                try? await Task.sleep(nanoseconds: UInt64(renewalInterval * 1e9))
                if Task.isCancelled { return }
                try? await renew()
            }
        }
    }
}

extension RunStore {
    /// Takes the run for `owner` if nobody holds it, its lease expired, or its owner is a
    /// dead process on this host. Otherwise throws `runOwned`, naming the owner.
    public func acquireLease(runID: String, owner: RunOwner, policy: LeasePolicy, now: Date = Date()) throws {
        try database.write { db in
            guard let row = try db.row("SELECT * FROM run WHERE id = ?\(db.dialect.forUpdate)", [runID]) else {
                throw StoreError.noSuchRun(runID)
            }
            let run = try RunRecord(row: row)
            if run.status == .queued { throw StoreError.runQueued(runID) }
            if let holder = Self.liveHolder(of: run, now: now), holder.token != owner.token {
                throw StoreError.runOwned(runID: runID, owner: holder.label,
                                          renewedSecondsAgo: Int(now.timeIntervalSince(run.leaseRenewedAt ?? now).rounded()),
                                          expiresInSeconds: Int((run.leaseExpiresAt ?? now).timeIntervalSince(now).rounded(.up)))
            }
            try Self.writeLease(db, runID: runID, owner: owner, policy: policy, now: now)
        }
    }

    /// Extends the lease; throws `leaseLost` when another process has taken the run.
    public func renewLease(runID: String, owner: RunOwner, policy: LeasePolicy, now: Date = Date()) async throws {
        try await database.write { db in
            try Self.checkOwner(db, runID: runID, owner: owner, forUpdate: true)
            try Self.writeLease(db, runID: runID, owner: owner, policy: policy, now: now)
        }
    }

    /// Gives the run up. With a status, the execution's end is written in the same step
    /// (`finishedAt` for done and incomplete); without one the run keeps the status it had.
    public func releaseRun(runID: String, owner: RunOwner, status: RunStatus? = nil) throws {
        try database.write { db in
            try Self.checkOwner(db, runID: runID, owner: owner, forUpdate: true)
            try db.execute("""
                UPDATE run SET ownerToken = NULL, ownerHost = NULL, ownerPid = NULL, leaseRenewedAt = NULL, leaseExpiresAt = NULL
                WHERE id = ?
                """, [runID])
            if let status {
                let finished: Date? = status == .done || status == .incomplete ? Date() : nil
                try db.execute("UPDATE run SET status = ?, finishedAt = ? WHERE id = ?", [status.rawValue, finished, runID])
            }
        }
    }

    /// The status to show: a `running` or `creating` run whose owner is gone is `interrupted`.
    public func state(of run: RunRecord, now: Date = Date()) -> RunStatus {
        let stored = run.status
        guard stored == .running || stored == .creating else { return stored }
        return Self.liveHolder(of: run, now: now) == nil ? .interrupted : stored
    }

    static func liveHolder(of run: RunRecord, now: Date) -> RunOwner? {
        guard let token = run.ownerToken, let host = run.ownerHost, let pid = run.ownerPid,
              let expires = run.leaseExpiresAt, expires > now else { return nil }
        let holder = RunOwner(token: token, host: host, pid: pid)
        if host == ProcessInfo.processInfo.hostName, !processIsAlive(pid) { return nil }
        return holder
    }

    static func processIsAlive(_ pid: Int32) -> Bool {
        kill(pid, 0) == 0 || errno == EPERM
    }

    static func writeLease(_ db: any SQLExecutor, runID: String, owner: RunOwner, policy: LeasePolicy, now: Date) throws {
        try db.execute("""
            UPDATE run SET ownerToken = ?, ownerHost = ?, ownerPid = ?, leaseRenewedAt = ?, leaseExpiresAt = ? WHERE id = ?
            """, [owner.token, owner.host, owner.pid, now, now.addingTimeInterval(policy.seconds), runID])
    }

    /// Fencing: every write of an execution checks, in its own transaction, that the run is
    /// still its own (or, for a worker on a queued run, that the sample is), so a process that
    /// lost its lease cannot write a turn twice. On PostgreSQL the row stays locked until the
    /// write commits, so no takeover can come between the check and the write.
    static func checkOwner(_ db: any SQLExecutor, runID: String, owner: RunOwner, sampleRowId: Int64? = nil,
                           forUpdate: Bool = false) throws {
        // A worker's sample is checked first and alone: workers never lock the run row here,
        // so many of them finishing samples (which locks it) cannot deadlock on it.
        var sampleLeased = false
        if let sampleRowId {
            let leaseToken = try db.row("SELECT leaseToken FROM sample WHERE id = ?\(db.dialect.forUpdate)", [sampleRowId])?
                .textOrNil("leaseToken")
            if leaseToken == owner.token { return }
            sampleLeased = leaseToken != nil
        }
        let lock = forUpdate ? db.dialect.forUpdate : db.dialect.forShare
        let runToken = try db.row("SELECT ownerToken FROM run WHERE id = ?\(lock)", [runID])?.textOrNil("ownerToken")
        if runToken == owner.token && !sampleLeased { return }
        if let sampleRowId, runToken == nil { throw StoreError.sampleLeaseLost(runID: runID, sampleRowId: sampleRowId) }
        throw StoreError.leaseLost(runID)
    }
}

extension RunStore {
    /// Runs `body` as the owner of a run whose lease `owner` already holds: renews the lease
    /// while it works, then releases the run with `finalStatus` of the result. A failed body
    /// leaves the run `interrupted`, a cancelled one `cancelledStatus` (a worker gives a
    /// queued run back as `queued`); cancellation is rethrown as `RunInterrupted`. A lost
    /// lease belongs to another process, so nothing of it is released.
    public func whileOwning<T: Sendable>(runID: String, owner: RunOwner, policy: LeasePolicy, cancelledStatus: RunStatus = .interrupted,
                                         finalStatus: (T) -> RunStatus, _ body: () async throws -> T) async throws -> T {
        let heartbeat = policy.heartbeat { [self] in try await renewLease(runID: runID, owner: owner, policy: policy) }
        defer { heartbeat.cancel() }
        do {
            let result = try await body()
            try releaseRun(runID: runID, owner: owner, status: finalStatus(result))
            return result
        } catch {
            if case StoreError.leaseLost = error { throw error }
            let cancelled = error is CancellationError || error is RunInterrupted
            try? releaseRun(runID: runID, owner: owner, status: cancelled ? cancelledStatus : .interrupted)
            throw cancelled ? RunInterrupted(runID: runID) : error
        }
    }
}
