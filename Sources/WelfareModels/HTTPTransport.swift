import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1

/// POSTs JSON with a timeout per attempt, retrying 429, 5xx, timeouts and dropped
/// connections with backoff. Errors never include request headers, so keys stay out of logs.
struct HTTPTransport: Sendable {
    let modelID: String
    let options: AccessOptions
    let limiter: ConcurrencyLimiter

    init(modelID: String, options: AccessOptions) {
        self.modelID = modelID
        self.options = options
        self.limiter = ConcurrencyLimiter(limit: options.concurrency)
    }

    func postJSON(url: String, headers: [(String, String)], body: Data) async throws -> Data {
        try await limiter.withPermit { try await postWithRetries(url: url, headers: headers, body: body) }
    }

    private func postWithRetries(url: String, headers: [(String, String)], body: Data) async throws -> Data {
        var lastError = "no attempt made"
        let attempts = max(1, options.retry.maxAttempts)
        for attempt in 1...attempts {
            try Task.checkCancellation()
            var retryAfter: Double?
            do {
                var request = HTTPClientRequest(url: url)
                request.method = .POST
                request.headers.add(name: "content-type", value: "application/json")
                for (name, value) in headers { request.headers.add(name: name, value: value) }
                request.body = .bytes(ByteBuffer(bytes: body))
                let response = try await HTTPClient.shared.execute(request, timeout: .milliseconds(Int64(options.timeoutSeconds * 1000)))
                let payload = try await response.body.collect(upTo: 32 << 20)
                let data = Data(payload.readableBytesView)
                let status = Int(response.status.code)
                if (200...299).contains(status) { return data }
                let detail = Self.summarise(data)
                guard RetryPolicy.isRetryable(status: status) else {
                    throw ModelAccessError.http(status: status, model: modelID, detail: detail)
                }
                lastError = "HTTP \(status): \(detail)"
                retryAfter = RetryPolicy.parseRetryAfter(response.headers.first(name: "retry-after"))
            } catch let error as ModelAccessError {
                throw error
            } catch is CancellationError {
                throw CancellationError()
            } catch {
                // Timeouts, refused and reset connections, truncated bodies: all worth retrying.
                lastError = Self.describe(error)
            }
            if attempt < attempts {
                let delay = options.retry.delay(afterAttempt: attempt, retryAfter: retryAfter)
                try await Task.sleep(nanoseconds: UInt64(delay * 1_000_000_000))
            }
        }
        throw ModelAccessError.gaveUp(model: modelID, attempts: attempts, lastError: lastError)
    }

    static func describe(_ error: Error) -> String {
        if let error = error as? HTTPClientError {
            switch error {
            case .deadlineExceeded, .readTimeout, .connectTimeout: return "request timed out"
            case .remoteConnectionClosed: return "connection closed by the server"
            default: return "HTTP client error: \(error)"
            }
        }
        return String(describing: error).split(separator: "\n").first.map(String.init) ?? "unknown error"
    }

    /// A short, single-line excerpt of an error body.
    static func summarise(_ data: Data) -> String {
        let text = String(decoding: data.prefix(300), as: UTF8.self)
            .replacingOccurrences(of: "\n", with: " ").trimmingCharacters(in: .whitespaces)
        return text.isEmpty ? "(empty body)" : text
    }
}
