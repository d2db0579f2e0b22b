import AsyncHTTPClient
import NIOCore
import NIOHTTP1

/// Outgoing requests from the test doubles to the real server.
enum HTTPClientRequestBuilder {
    struct Response {
        var status: HTTPResponseStatus
        var contentType: String
        var body: ByteBuffer
    }

    static func make(url: String, method: HTTPMethod, headers: HTTPHeaders, body: ByteBuffer) -> HTTPClientRequest {
        var request = HTTPClientRequest(url: url)
        request.method = method
        for name in ["content-type", "authorization"] {
            if let value = headers.first(name: name) { request.headers.add(name: name, value: value) }
        }
        request.body = .bytes(body)
        return request
    }

    static func execute(_ request: HTTPClientRequest) async throws -> Response {
        let response = try await HTTPClient.shared.execute(request, timeout: .seconds(300))
        let body = try await response.body.collect(upTo: 32 << 20)
        return Response(status: response.status, contentType: response.headers.first(name: "content-type") ?? "application/json", body: body)
    }
}
