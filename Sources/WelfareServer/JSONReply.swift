import Foundation
import Hummingbird
import NIOCore
import WelfareModels

/// Reading request bodies and writing JSON responses, one way for every endpoint.
enum JSONReply {
    /// JSON as every response and event writes it.
    static func encode<T: Encodable>(_ value: T) -> Data {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.withoutEscapingSlashes]
        return (try? encoder.encode(value)) ?? Data("{}".utf8)
    }

    static func response<T: Encodable>(_ value: T, status: HTTPResponse.Status = .ok, headers: HTTPFields = [:]) -> Response {
        let data = encode(value)
        var headers = headers
        headers[.contentType] = "application/json"
        return Response(status: status, headers: headers, body: ResponseBody(byteBuffer: ByteBuffer(bytes: data)))
    }

    static func error(_ error: APIError) -> Response {
        var headers: HTTPFields = [:]
        if let seconds = error.retryAfter { headers[.retryAfter] = String(seconds) }
        if error.closesConnection { headers[.connection] = "close" }
        return response(error, status: HTTPResponse.Status(code: error.status), headers: headers)
    }

    /// The whole body, refused with 413 past `limit` bytes. The rest of a too-large body is
    /// read and dropped (up to 64 times the limit), so a client that sends it all before
    /// reading the answer gets the 413 instead of a stalled or reset connection.
    static func readBody(_ request: Request, limit: Int) async throws -> Data {
        // A body announced too large to drain is refused before a byte of it is read, and the
        // connection ends after the answer: nobody waits for gigabytes that may never come.
        if let announced = request.headers[.contentLength].flatMap({ Int($0) }), announced > limit * 64 {
            var error = APIError(status: 413, message: "The request body is larger than \(limit) bytes.", type: "invalid_request_error",
                                 code: "request_too_large")
            error.closesConnection = true
            throw error
        }
        var body = Data()
        var total = 0
        for try await buffer in request.body {
            total += buffer.readableBytes
            if total <= limit { body.append(contentsOf: buffer.readableBytesView) }
            if total > limit * 64 { break }
        }
        guard total <= limit else {
            throw APIError(status: 413, message: "The request body is larger than \(limit) bytes.", type: "invalid_request_error",
                           code: "request_too_large")
        }
        return body
    }

    /// `T` from JSON, or a one-line 400 naming what is wrong.
    static func decode<T: Decodable>(_ type: T.Type, from data: Data) throws -> T {
        do { return try JSONDecoder().decode(type, from: data) } catch let error as DecodingError {
            throw APIError.invalid(describe(error))
        } catch {
            throw APIError.invalid("the request body is not valid JSON")
        }
    }

    static func describe(_ error: DecodingError) -> String {
        func path(_ keys: [any CodingKey]) -> String {
            keys.map { $0.intValue.map { "[\($0)]" } ?? "." + $0.stringValue }.joined().trimmingCharacters(in: ["."])
        }
        switch error {
        case .keyNotFound(let key, let context): return "missing field \(path(context.codingPath + [key]))"
        case .typeMismatch(_, let context), .valueNotFound(_, let context):
            return "field \(path(context.codingPath)) has the wrong type"
        case .dataCorrupted(let context):
            return context.codingPath.isEmpty ? "the request body is not valid JSON"
                : "field \(path(context.codingPath)): \(context.debugDescription)"
        @unknown default: return "the request body could not be read"
        }
    }
}

/// Server-sent events: `data: JSON` lines, each event ended by a blank line.
enum EventStream {
    static func event<T: Encodable>(_ value: T) -> ByteBuffer {
        ByteBuffer(string: "data: \(String(decoding: JSONReply.encode(value), as: UTF8.self))\n\n")
    }

    static let headers: HTTPFields = [.contentType: "text/event-stream", .cacheControl: "no-cache"]

    /// A generation streamed as OpenAI streams it: an opening chunk, a chunk per piece of
    /// text, the closing chunks, `data: [DONE]`. The generation waits for its slot inside the
    /// stream; if the client goes away, writing fails and the generation is cancelled, which
    /// frees the slot at the next token. A generation that fails sends an error event.
    static func generation<Chunk: Encodable & Sendable>(
        admission: Admission,
        generate: @escaping @Sendable (@escaping @Sendable (String) -> Void) async throws -> ChatCompletion,
        opening: Chunk?, piece: @escaping @Sendable (String) -> Chunk,
        closing: @escaping @Sendable (ChatCompletion) -> [Chunk]
    ) -> Response {
        Response(status: .ok, headers: headers, body: ResponseBody { writer in
            let (pieces, continuation) = AsyncStream<String>.makeStream()
            let task = Task {
                defer { continuation.finish() }
                return try await admission.run { try await generate { continuation.yield($0) } }
            }
            do {
                try await withTaskCancellationHandler {
                    if let opening { try await writer.write(event(opening)) }
                    for await text in pieces { try await writer.write(event(piece(text))) }
                } onCancel: {
                    task.cancel()
                }
            } catch {
                task.cancel()
                throw error
            }
            do {
                for chunk in closing(try await task.value) { try await writer.write(event(chunk)) }
            } catch {
                let failure = (error as? APIError) ?? APIError(status: 500, message: "\(error)", type: "server_error")
                try await writer.write(event(failure))
            }
            try await writer.write(ByteBuffer(string: "data: [DONE]\n\n"))
            try await writer.finish(nil)
        })
    }
}
