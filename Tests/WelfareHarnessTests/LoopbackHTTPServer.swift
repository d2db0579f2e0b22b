import Foundation
import NIOCore
import NIOHTTP1
import NIOPosix

/// A small HTTP/1.1 server on 127.0.0.1 whose every answer comes from `handler`, for the
/// test doubles that stand in front of the real llama_cpp.server.
final class LoopbackHTTPServer: Sendable {
    struct Request: Sendable {
        var method: HTTPMethod
        var uri: String
        var headers: HTTPHeaders
        var body: ByteBuffer
    }

    enum Answer: Sendable {
        case reply(HTTPResponseStatus, HTTPHeaders, ByteBuffer)
        /// Close the connection without answering.
        case drop
    }

    let port: Int
    private let channel: Channel

    var origin: String { "http://127.0.0.1:\(port)" }

    private init(port: Int, channel: Channel) {
        self.port = port
        self.channel = channel
    }

    static func start(handler: @escaping @Sendable (Request) async throws -> Answer) async throws -> LoopbackHTTPServer {
        let server = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .bind(host: "127.0.0.1", port: 0) { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.configureHTTPServerPipeline()
                    return try NIOAsyncChannel<HTTPServerRequestPart, HTTPServerResponsePart>(wrappingChannelSynchronously: channel)
                }
            }
        let instance = LoopbackHTTPServer(port: server.channel.localAddress?.port ?? 0, channel: server.channel)
        Task {
            try? await server.executeThenClose { connections in
                for try await connection in connections {
                    Task { await serve(connection, handler: handler) }
                }
            }
        }
        return instance
    }

    func stop() async {
        try? await channel.close()
    }

    private static func serve(_ connection: NIOAsyncChannel<HTTPServerRequestPart, HTTPServerResponsePart>,
                              handler: @Sendable (Request) async throws -> Answer) async {
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
                    switch try await handler(Request(method: head.method, uri: head.uri, headers: head.headers, body: body)) {
                    case .drop:
                        return
                    case .reply(let status, var headers, let payload):
                        headers.replaceOrAdd(name: "content-length", value: String(payload.readableBytes))
                        try await outbound.write(.head(HTTPResponseHead(version: .http1_1, status: status, headers: headers)))
                        try await outbound.write(.body(.byteBuffer(payload)))
                        try await outbound.write(.end(nil))
                    }
                }
            }
        }
    }

    /// Sends a request on to a real server and returns its answer unchanged.
    static func forward(_ request: Request, to origin: String, path: String? = nil, body: ByteBuffer? = nil) async throws -> Answer {
        var outgoing = HTTPClientRequestBuilder.make(url: origin + (path ?? request.uri), method: request.method, headers: request.headers,
                                                     body: body ?? request.body)
        outgoing.headers.remove(name: "content-length")
        let response = try await HTTPClientRequestBuilder.execute(outgoing)
        return .reply(response.status, HTTPHeaders([("content-type", response.contentType)]), response.body)
    }
}
