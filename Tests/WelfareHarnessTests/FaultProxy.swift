import Foundation
import NIOCore
import NIOHTTP1

/// A proxy in front of the real llama_cpp.server that injects the faults a healthy server
/// cannot be made to produce on demand: 5xx answers, 429 with Retry-After, stalls past the
/// client's timeout, and connections dropped without an answer. This is the only fake in
/// the tests; every request it does not fail goes to the real server.
final class FaultProxy: Sendable {
    enum Fault: Sendable, Equatable {
        case forward
        case status(Int, retryAfter: Int?)
        case stall(seconds: Double)
        case drop
    }

    actor Schedule {
        var pending: [Fault]
        var injected: [Fault] = []
        var repeating: Fault?

        init(_ faults: [Fault]) { pending = faults }

        func next() -> Fault {
            let fault = pending.isEmpty ? (repeating ?? .forward) : pending.removeFirst()
            if fault != .forward { injected.append(fault) }
            return fault
        }

        func setRepeating(_ fault: Fault?) { repeating = fault }
    }

    let schedule: Schedule
    private let server: LoopbackHTTPServer

    var baseURL: String { server.origin }

    private init(schedule: Schedule, server: LoopbackHTTPServer) {
        self.schedule = schedule
        self.server = server
    }

    /// `upstream` is the real server's origin, e.g. http://127.0.0.1:8000.
    static func start(upstream: String, faults: [Fault]) async throws -> FaultProxy {
        let schedule = Schedule(faults)
        let server = try await LoopbackHTTPServer.start { request in
            switch await schedule.next() {
            case .drop:
                return .drop
            case .stall(let seconds):
                try await Task.sleep(nanoseconds: UInt64(seconds * 1_000_000_000))
                return .drop
            case .status(let code, let retryAfter):
                var headers = HTTPHeaders([("content-type", "application/json")])
                if let retryAfter { headers.add(name: "retry-after", value: String(retryAfter)) }
                return .reply(HTTPResponseStatus(statusCode: code), headers, ByteBuffer(string: "{\"error\":\"injected failure\"}"))
            case .forward:
                return try await LoopbackHTTPServer.forward(request, to: upstream)
            }
        }
        return FaultProxy(schedule: schedule, server: server)
    }

    func stop() async { await server.stop() }
}
