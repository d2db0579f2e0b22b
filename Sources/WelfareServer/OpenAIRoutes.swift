import Foundation
import Hummingbird
import WelfareCore
import WelfareEngine
import WelfareModels
import WelfareLocal

/// `/v1/models`, `/v1/chat/completions` and `/v1/completions` in OpenAI's wire format, for
/// the models on the shelf. A streamed generation stops when its client goes away; an
/// unstreamed one runs to its end (at most max_tokens). Every failure is a JSON error object with its status; nothing a
/// client sends ends the server.
struct OpenAIRoutes: Sendable {
    let shelf: ModelShelf
    let limits: ServerLimits

    func add(to router: Router<BasicRequestContext>) {
        let api = router.group("v1")
        if let key = limits.apiKey { api.add(middleware: BearerTokenCheck(token: key)) }
        api.get("models") { _, _ in self.modelList() }
        api.post("chat/completions") { request, _ in await Self.answering { try await self.chat(request) } }
        api.post("completions") { request, _ in await Self.answering { try await self.completion(request) } }
    }

    private func modelList() -> Response {
        JSONReply.response(ModelList(data: shelf.models.map {
            ModelList.Entry(id: $0.id, created: 0, owned_by: $0.origin == "archive" ? "modelwelfare-archive" : "modelwelfare")
        }))
    }

    // MARK: - Endpoints

    private func chat(_ request: Request) async throws -> Response {
        let body = try await JSONReply.readBody(request, limit: limits.maxBodyBytes)
        let fields = try JSONReply.decode(SamplingFields.self, from: body)
        let messages = try JSONReply.decode(ChatRequest.self, from: body).chatMessages()
        let settings = try fields.settings(defaultMaxTokens: limits.defaultMaxTokens)
        let (model, admission) = try await prepare(fields.model) { try $0.prompt(messages) }
        let id = "chatcmpl-" + UUID().uuidString.replacingOccurrences(of: "-", with: "").lowercased()
        let created = Int(Date().timeIntervalSince1970)
        if fields.stream == true {
            let includeUsage = fields.stream_options?.include_usage == true
            return EventStream.generation(admission: admission, generate: { onText in
                try await model.complete(messages, settings: settings, onText: onText)
            }, opening: ChatChunk(id: id, created: created, model: fields.model,
                                  choices: [.init(delta: .init(role: "assistant", content: ""))]),
            piece: { ChatChunk(id: id, created: created, model: fields.model, choices: [.init(delta: .init(content: $0))]) },
            closing: { completion in
                [ChatChunk(id: id, created: created, model: fields.model,
                           choices: [.init(delta: .init(), finish_reason: FinishReason.of(completion))])]
                    + (includeUsage ? [ChatChunk(id: id, created: created, model: fields.model, choices: [], usage: Usage(completion))] : [])
            })
        }
        let completion = try await admission.run { try await model.complete(messages, settings: settings) }
        return JSONReply.response(ChatResponse(id: id, created: created, model: fields.model, choices: [
            .init(message: .init(content: completion.text), finish_reason: FinishReason.of(completion)),
        ], usage: Usage(completion)))
    }

    private func completion(_ request: Request) async throws -> Response {
        let body = try await JSONReply.readBody(request, limit: limits.maxBodyBytes)
        let fields = try JSONReply.decode(SamplingFields.self, from: body)
        let prompt = try JSONReply.decode(CompletionRequest.self, from: body).prompt.text
        guard !prompt.isEmpty else { throw APIError.invalid("prompt must not be empty", param: "prompt") }
        let settings = try fields.settings(defaultMaxTokens: limits.defaultMaxTokens)
        let (model, admission) = try await prepare(fields.model) { _ in prompt }
        let id = "cmpl-" + UUID().uuidString.replacingOccurrences(of: "-", with: "").lowercased()
        let created = Int(Date().timeIntervalSince1970)
        if fields.stream == true {
            let includeUsage = fields.stream_options?.include_usage == true
            return EventStream.generation(admission: admission, generate: { onText in
                try await model.continueText(prompt, settings: settings, onText: onText)
            }, opening: nil, piece: {
                TextResponse(id: id, created: created, model: fields.model, choices: [.init(text: $0)])
            }, closing: { completion in
                [TextResponse(id: id, created: created, model: fields.model,
                              choices: [.init(text: "", finish_reason: FinishReason.of(completion))],
                              usage: includeUsage ? Usage(completion) : nil)]
            })
        }
        let completion = try await admission.run { try await model.continueText(prompt, settings: settings) }
        return JSONReply.response(TextResponse(id: id, created: created, model: fields.model, choices: [
            .init(text: completion.text, finish_reason: FinishReason.of(completion)),
        ], usage: Usage(completion)))
    }

    /// The loaded model and a place in its line, after checking the prompt fits its context.
    private func prepare(_ id: String, prompt: (LocalChatModel) throws -> String) async throws -> (LocalChatModel, Admission) {
        guard let gate = shelf.gate(for: id) else {
            throw APIError(status: 404, message: "The model \"\(id)\" does not exist; GET /v1/models lists the served models.",
                           type: "invalid_request_error", param: "model", code: "model_not_found")
        }
        let admission: Admission
        do { admission = try await gate.admit() } catch let full as RequestGate.Full {
            throw APIError(status: 429, message: "The model \"\(id)\" is busy and its queue is full; retry later.",
                           type: "rate_limit_error", code: "queue_full", retryAfter: full.retryAfter)
        }
        let model: LocalChatModel
        do { model = try await shelf.model(id) } catch {
            throw APIError(status: 500, message: "could not load \(id): \(error)", type: "server_error")
        }
        let tokens = try model.session.model.tokenize(try prompt(model)).count
        let context = model.session.options.contextLength
        guard tokens < context else {
            throw APIError.invalid("The prompt is \(tokens) tokens; the model's context holds \(context).",
                                   param: "messages", code: "context_length_exceeded")
        }
        return (model, admission)
    }

    /// The handler's response, or its error as OpenAI's error object.
    static func answering(_ handler: () async throws -> Response) async -> Response {
        do { return try await handler() } catch let error as APIError {
            return JSONReply.error(error)
        } catch is CancellationError {
            return JSONReply.error(APIError(status: 499, message: "the client closed the request", type: "cancelled"))
        } catch let error as EngineError {
            return JSONReply.error(APIError.invalid(error.description))
        } catch {
            return JSONReply.error(APIError(status: 500, message: "\(error)", type: "server_error"))
        }
    }
}

/// `Authorization: Bearer TOKEN` on every request it guards; 401 otherwise.
struct BearerTokenCheck: RouterMiddleware {
    typealias Context = BasicRequestContext
    let token: String

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        let given = request.headers[.authorization].flatMap { $0.hasPrefix("Bearer ") ? String($0.dropFirst(7)) : nil }
        // Compared in full, whatever the first difference, so timing says nothing of the token.
        guard let given, Array(given.utf8).count == Array(token.utf8).count,
              zip(given.utf8, token.utf8).reduce(0, { $0 | ($1.0 ^ $1.1) }) == 0 else {
            return JSONReply.error(APIError(status: 401, message: "A valid API key is required: Authorization: Bearer KEY.",
                                            type: "invalid_request_error", code: "invalid_api_key"))
        }
        return try await next(request, context)
    }
}
