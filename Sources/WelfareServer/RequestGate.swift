import Foundation

/// How many requests one model takes: `slots` run at once, up to `queueLimit` more wait
/// in order, and anything beyond that is turned away at once (HTTP 429) rather than
/// piling up. An admission holds its place until it is released or dropped, so a request
/// whose response is never written (the client went away first) gives its place back.
public actor RequestGate {
    public nonisolated let slots: Int
    public nonisolated let queueLimit: Int
    private var admitted = 0
    private var running = 0
    private var waiting: [(id: UInt64, continuation: CheckedContinuation<Void, any Error>)] = []
    private var nextID: UInt64 = 0
    /// Recent run times, for the Retry-After estimate.
    private var recentSeconds: [Double] = []

    public struct Full: Error {
        /// Seconds after which a place is likely to be free.
        public var retryAfter: Int
    }

    public init(slots: Int, queueLimit: Int) {
        self.slots = max(1, slots)
        self.queueLimit = max(0, queueLimit)
    }

    /// A place in line, or `Full` when every slot and queue place is taken.
    public func admit() throws -> Admission {
        guard admitted < slots + queueLimit else {
            let average = recentSeconds.isEmpty ? 1 : recentSeconds.reduce(0, +) / Double(recentSeconds.count)
            throw Full(retryAfter: max(1, Int((average * Double(admitted - slots + 1) / Double(slots)).rounded(.up))))
        }
        admitted += 1
        nextID += 1
        return Admission(gate: self, id: nextID)
    }

    /// The number of requests admitted and not yet released, running or waiting.
    public var load: (running: Int, waiting: Int) { (running, waiting.count) }

    fileprivate func acquire(id: UInt64) async throws {
        if running < slots && waiting.isEmpty {
            running += 1
            return
        }
        try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { continuation in
                waiting.append((id, continuation))
            }
        } onCancel: {
            Task { await self.abandon(id: id) }
        }
    }

    private func abandon(id: UInt64) {
        guard let index = waiting.firstIndex(where: { $0.id == id }) else { return }
        waiting.remove(at: index).continuation.resume(throwing: CancellationError())
    }

    fileprivate func release(held: Bool, seconds: Double?) {
        admitted -= 1
        if let seconds {
            recentSeconds.append(seconds)
            if recentSeconds.count > 16 { recentSeconds.removeFirst() }
        }
        guard held else { return }
        if waiting.isEmpty { running -= 1 } else { waiting.removeFirst().continuation.resume() }
    }
}

/// One request's place at a gate. `run` waits for a slot and holds it for `body`; the place
/// is given back when `run` ends, or when the admission is dropped without running.
public final class Admission: @unchecked Sendable {
    private let gate: RequestGate
    private let id: UInt64
    private let lock = NSLock()
    private var released = false

    fileprivate init(gate: RequestGate, id: UInt64) {
        self.gate = gate
        self.id = id
    }

    public func run<T: Sendable>(_ body: () async throws -> T) async throws -> T {
        guard claim() else { throw CancellationError() }
        do {
            try await gate.acquire(id: id)
        } catch {
            await gate.release(held: false, seconds: nil)
            throw error
        }
        let start = Date()
        do {
            let result = try await body()
            await gate.release(held: true, seconds: Date().timeIntervalSince(start))
            return result
        } catch {
            await gate.release(held: true, seconds: Date().timeIntervalSince(start))
            throw error
        }
    }

    /// True for the one caller that may give the place back.
    private func claim() -> Bool {
        lock.lock()
        defer { lock.unlock() }
        if released { return false }
        released = true
        return true
    }

    deinit {
        if claim() {
            let gate = self.gate
            Task { await gate.release(held: false, seconds: nil) }
        }
    }
}
