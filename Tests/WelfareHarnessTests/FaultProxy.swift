import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1
import NIOPosix

/// An HTTP proxy on loopback in front of the real llama_cpp.server that injects the faults a
/// healthy server cannot be made to produce on demand: 5xx answers, 429 with Retry-After,
/// stalls past the client's timeout, and connections dropped without an answer. This is the
/// only fake in the tests; everything it does not inject goes to the real server.
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
        var forwarded = 0
        var repeating: Fault?

        init(_ faults: [Fault]) { pending = faults }

        func next() -> Fault {
            if !pending.isEmpty {
                let fault = pending.removeFirst()
                if fault == .forward { forwarded += 1 } else { injected.append(fault) }
                return fault
            }
            if let repeating { injected.append(repeating); return repeating }
            forwarded += 1
            return .forward
        }

        func setRepeating(_ fault: Fault?) { repeating = fault }
    }

    let schedule: Schedule
    let upstream: String
    let port: Int
    private let serverChannel: Channel

    var baseURL: String { "http://127.0.0.1:\(port)" }

    private init(schedule: Schedule, upstream: String, port: Int, channel: Channel) {
        self.schedule = schedule
        self.upstream = upstream
        self.port = port
        self.serverChannel = channel
    }

    /// `upstream` is the real server's origin, e.g. http://127.0.0.1:8000.
    static func start(upstream: String, faults: [Fault]) async throws -> FaultProxy {
        let schedule = Schedule(faults)
        let server = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .bind(host: "127.0.0.1", port: 0) { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.configureHTTPServerPipeline()
                    return try NIOAsyncChannel<HTTPServerRequestPart, HTTPServerResponsePart>(wrappingChannelSynchronously: channel)
                }
            }
        let port = server.channel.localAddress?.port ?? 0
        let proxy = FaultProxy(schedule: schedule, upstream: upstream, port: port, channel: server.channel)
        Task {
            try? await server.executeThenClose { connections in
                for try await connection in connections {
                    Task { await proxy.serve(connection) }
                }
            }
        }
        return proxy
    }

    func stop() async {
        try? await serverChannel.close()
    }

    private func serve(_ connection: NIOAsyncChannel<HTTPServerRequestPart, HTTPServerResponsePart>) async {
        try? await connection.executeThenClose { inbound, outbound in
            var head: HTTPRequestHead?
            var body = ByteBuffer()
            for try await part in inbound {
                switch part {
                case .head(let requestHead):
                    head = requestHead
                    body.clear()
                case .body(var chunk):
                    body.writeBuffer(&chunk)
                case .end:
                    guard let head else { return }
                    switch await schedule.next() {
                    case .drop:
                        return  // closes the connection with no answer
                    case .stall(let seconds):
                        try await Task.sleep(nanoseconds: UInt64(seconds * 1_000_000_000))
                        return
                    case .status(let code, let retryAfter):
                        var headers = HTTPHeaders([("content-type", "application/json"), ("content-length", "28")])
                        if let retryAfter { headers.add(name: "retry-after", value: String(retryAfter)) }
                        try await write(outbound, status: HTTPResponseStatus(statusCode: code), headers: headers,
                                        body: ByteBuffer(string: "{\"error\":\"injected failure\"}"))
                    case .forward:
                        let (status, headers, payload) = try await forward(head, body: body)
                        try await write(outbound, status: status, headers: headers, body: payload)
                    }
                }
            }
        }
    }

    private func write(_ outbound: NIOAsyncChannelOutboundWriter<HTTPServerResponsePart>, status: HTTPResponseStatus,
                       headers: HTTPHeaders, body: ByteBuffer) async throws {
        var headers = headers
        headers.replaceOrAdd(name: "content-length", value: String(body.readableBytes))
        try await outbound.write(.head(HTTPResponseHead(version: .http1_1, status: status, headers: headers)))
        try await outbound.write(.body(.byteBuffer(body)))
        try await outbound.write(.end(nil))
    }

    private func forward(_ head: HTTPRequestHead, body: ByteBuffer) async throws -> (HTTPResponseStatus, HTTPHeaders, ByteBuffer) {
        var request = HTTPClientRequest(url: upstream + head.uri)
        request.method = head.method
        for name in ["content-type", "authorization"] {
            if let value = head.headers.first(name: name) { request.headers.add(name: name, value: value) }
        }
        request.body = .bytes(body)
        let response = try await HTTPClient.shared.execute(request, timeout: .seconds(300))
        let payload = try await response.body.collect(upTo: 32 << 20)
        return (response.status, HTTPHeaders([("content-type", response.headers.first(name: "content-type") ?? "application/json")]), payload)
    }
}
