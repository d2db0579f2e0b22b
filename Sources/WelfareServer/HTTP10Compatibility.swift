import NIOCore
import NIOHTTP1

/// HTTP/1.0 clients get HTTP/1.0 answers: Hummingbird's request and response types carry no
/// version, so without this it answers `HTTP/1.1`, chunked, and keeps the connection, and a
/// client that reads to the end of the connection waits forever. This handler sits between
/// NIO's HTTP/1 decoder and the conversion to HTTP types, where versions are still seen: it
/// answers a 1.0 request in 1.0 (the encoder then sends the body unchunked) with
/// `Connection: close`, and closes the connection once the answer is written.
final class HTTP10Answers: ChannelDuplexHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias InboundOut = HTTPServerRequestPart
    typealias OutboundIn = HTTPServerResponsePart
    typealias OutboundOut = HTTPServerResponsePart

    /// The versions of the requests read and not yet answered, oldest first.
    private var pending: [HTTPVersion] = []
    private var closeAfterAnswer = false

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        if case .head(let head) = unwrapInboundIn(data) { pending.append(head.version) }
        context.fireChannelRead(data)
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        switch unwrapOutboundIn(data) {
        case .head(var head) where pending.first.map({ $0.major == 1 && $0.minor == 0 }) == true:
            head.version = .http1_0
            head.headers.remove(name: "transfer-encoding")
            head.headers.replaceOrAdd(name: "connection", value: "close")
            closeAfterAnswer = true
            context.write(wrapOutboundOut(.head(head)), promise: promise)
        case .end:
            if !pending.isEmpty { pending.removeFirst() }
            guard closeAfterAnswer else { return context.write(data, promise: promise) }
            let written = promise ?? context.eventLoop.makePromise()
            written.futureResult.whenComplete { _ in context.close(promise: nil) }
            context.writeAndFlush(data, promise: written)
        default:
            context.write(data, promise: promise)
        }
    }

    /// Put in Hummingbird's pipeline (as one of its additional handlers, which come after the
    /// conversion to HTTP types), it moves `HTTP10Answers` to just after NIO's decoder and
    /// leaves.
    final class Installer: ChannelInboundHandler, RemovableChannelHandler {
        typealias InboundIn = Never

        func handlerAdded(context: ChannelHandlerContext) {
            let pipeline = context.pipeline.syncOperations
            if let decoder = try? pipeline.handler(type: ByteToMessageHandler<HTTPRequestDecoder>.self) {
                try? pipeline.addHandler(HTTP10Answers(), position: .after(decoder))
            }
            context.pipeline.syncOperations.removeHandler(context: context, promise: nil)
        }
    }
}
