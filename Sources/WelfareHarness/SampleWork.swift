import Foundation
import WelfareCore
import WelfareModels
import WelfareStore

/// Plays one sample's conversation, continuing after the last committed turn, then scores it.
struct SampleWork: Sendable {
    let store: RunStore
    let runID: String
    let owner: RunOwner
    let suite: SuiteSpec
    let seed: UInt32
    let scorers: [any Scorer]
    let interviewer: (any ChatModel)?

    func execute(row: SampleRecord, rowID: Int64, spec: SampleSpec, model: any ChatModel) async throws {
        let stored = try await store.messages(sampleRowId: rowID)
        var conversation = stored.map(\.chatMessage)
        var position = stored.count
        let completedTurns = stored.filter { $0.role == .assistant }.map(\.turn).max() ?? 0
        // A conversation the model ended stays ended, also when a resumed run comes back to it.
        let ended = stored.suffix(2).contains { $0.role != .system && suite.ends($0.content) }
        if completedTurns < spec.assistantTurnCount && !ended {
            for turn in (completedTurns + 1)...spec.assistantTurnCount {
                // Stop between turns when the run is cancelled; what is committed stays.
                try Task.checkCancellation()
                var records: [MessageRecord] = []
                func record(_ message: ChatMessage, cached: Bool = false, latency: Double? = nil, truncated: Bool = false,
                            usage: ChatCompletion? = nil) {
                    records.append(MessageRecord(id: nil, sampleRowId: rowID, position: position, turn: turn, role: message.role,
                                                 content: message.content, cached: cached, latencyMs: latency, createdAt: Date(),
                                                 truncated: truncated, promptTokens: usage?.promptTokens,
                                                 completionTokens: usage?.completionTokens))
                    position += 1
                    conversation.append(message)
                }
                if turn == 1, conversation.isEmpty, let system = spec.system, !system.isEmpty { record(.system(system)) }
                record(.user(try await userText(spec: spec, epoch: row.epoch, turn: turn, conversation: conversation)))
                var settings = suite.sampling
                settings.seed = Self.derivedSeed(seed, spec.id, row.epoch, turn)
                // Remote models that take tools get the exit as a tool too.
                settings.endTool = suite.endMarker
                let key = Self.cacheKey(model: model.cacheIdentity, messages: conversation, settings: settings, epoch: row.epoch)
                let started = Date()
                if let cached = try await store.cachedResponse(key: key) {
                    let reply = StoredReply(cached.text, maxTokens: settings.maxTokens)
                    record(.assistant(reply.text), cached: true, truncated: reply.truncated, usage: cached)
                } else {
                    let completion = try await model.complete(conversation, settings: settings)
                    let reply = StoredReply(completion.text, maxTokens: settings.maxTokens)
                    var stored = completion
                    stored.text = reply.text
                    try await store.cacheResponse(key: key, completion: stored)
                    record(.assistant(reply.text), latency: Date().timeIntervalSince(started) * 1000, truncated: reply.truncated,
                           usage: completion)
                }
                try await store.appendTurn(sampleRowId: rowID, messages: records, owner: owner, runID: runID)
                // Either side may use the exit: the model's reply, or the other side's message
                // (then the model has answered it, and the conversation ends there).
                if conversation.suffix(2).contains(where: { $0.role != .system && suite.ends($0.content) }) { break }
            }
        }
        try await store.finishSample(sampleRowId: rowID, scores: try await score(rowID: rowID, spec: spec, conversation: conversation, model: model),
                               owner: owner, runID: runID)
    }

    func score(rowID: Int64, spec: SampleSpec, conversation: [ChatMessage], model: any ChatModel) async throws -> [ScoreRecord] {
        try await ConversationScoring.score(conversation, sample: spec, scorers: scorers, model: model).map { score in
            ScoreRecord(id: nil, sampleRowId: rowID, scorer: score.scorer.id, turn: score.turn, value: score.result.value,
                        label: score.result.label, evidence: score.result.evidence, reasoning: score.result.reasoning,
                        detailJSON: score.result.detail.isEmpty ? nil : try RunStore.json(score.result.detail))
        }
    }

    /// The user's text for a turn; pool draws depend only on the run seed, sample, epoch and
    /// turn, so every model hears the same words and a resumed run draws the same again.
    func userText(spec: SampleSpec, epoch: Int, turn: Int, conversation: [ChatMessage]) async throws -> String {
        if turn == 1 { return spec.user }
        switch spec.turns[turn - 2] {
        case .text(let text): return text
        case .pool(let name):
            let pool = suite.pools[name] ?? [""]
            var generator = SeededGenerator(seed: UInt64(Self.derivedSeed(seed, spec.id, epoch, turn)))
            return pool[Int.random(in: 0..<pool.count, using: &generator)]
        case .interviewer(let fallback):
            guard let interviewer else { return fallback }
            return try await interview(interviewer, spec: spec, epoch: epoch, turn: turn, conversation: conversation, fallback: fallback)
        }
    }

    /// Asks the interviewer model for the next question. It sees the conversation from its
    /// side (its questions as its own turns) and the sample's brief; its reply is cached
    /// like any other, so a resumed run asks the same question again.
    func interview(_ interviewer: any ChatModel, spec: SampleSpec, epoch: Int, turn: Int, conversation: [ChatMessage],
                   fallback: String) async throws -> String {
        var messages: [ChatMessage]
        switch suite.interviewerRole ?? .interviewer {
        case .interviewer: messages = [.system(InterviewerPrompt.system(brief: spec.interviewerBrief, suggestion: fallback))]
        case .user: messages = [.system(InterviewerPrompt.userSystem(brief: spec.interviewerBrief, suggestion: fallback))]
        case .peer: messages = spec.system.map { [.system($0)] } ?? []
        }
        for message in conversation where message.role != .system {
            messages.append(message.role == .user ? .assistant(message.content) : .user(message.content))
        }
        switch suite.interviewerRole ?? .interviewer {
        case .interviewer: messages.append(.user(InterviewerPrompt.nextQuestionRequest))
        case .user: messages.append(.user(InterviewerPrompt.nextUserMessageRequest))
        // The other side's last message is the peer's to answer.
        case .peer: break
        }
        let derived = Self.derivedSeed(seed, spec.id + "#interviewer", epoch, turn)
        var settings = SamplingSettings(temperature: 0.8, topP: 0.95, maxTokens: 120, seed: derived)
        if suite.interviewerRole == .peer {
            // A peer talks under the same sampling settings as the model it talks with.
            settings = suite.sampling
            settings.seed = derived
            settings.endTool = suite.endMarker
        }
        let key = Self.cacheKey(model: interviewer.cacheIdentity, messages: messages, settings: settings, epoch: epoch)
        let text: String
        if let cached = try await store.cachedResponse(key: key) {
            text = cached.text
        } else {
            let completion = try await interviewer.complete(messages, settings: settings)
            try await store.cacheResponse(key: key, completion: completion)
            text = completion.text
        }
        let message = text.trimmingCharacters(in: .whitespacesAndNewlines)
        // A peer's empty message is part of what is measured (conversations fall silent); an
        // interviewer's is replaced by the scripted question.
        return message.isEmpty && suite.interviewerRole != .peer ? fallback : message
    }

    static func derivedSeed(_ seed: UInt32, _ sampleID: String, _ epoch: Int, _ turn: Int) -> UInt32 {
        let hash = FNV.hash64("\(seed)|\(sampleID)|\(epoch)|\(turn)")
        return UInt32(truncatingIfNeeded: hash ^ (hash >> 32))
    }

    static func cacheKey(model: String, messages: [ChatMessage], settings: SamplingSettings, epoch: Int) -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        let payload = (try? encoder.encode(CacheKeyPayload(model: model, messages: messages, settings: settings, epoch: epoch))) ?? Data()
        let text = String(decoding: payload, as: UTF8.self)
        return String(format: "%016llx%016llx", FNV.hash64(text), FNV.hash64("salt|" + text))
    }

    struct CacheKeyPayload: Encodable {
        var model: String
        var messages: [ChatMessage]
        var settings: SamplingSettings
        var epoch: Int
    }
}

/// A reply as it is stored. A remote server may send far more than `max_tokens` allows; a
/// stored reply is cut at `bytesPerToken` UTF-8 bytes per allowed token (no tokenizer's
/// token is that long, so an honest reply is never cut) and marked truncated.
struct StoredReply {
    static let bytesPerToken = 64
    var text: String
    var truncated: Bool

    init(_ text: String, maxTokens: Int) {
        let limit = max(1, maxTokens) * Self.bytesPerToken
        guard text.utf8.count > limit else {
            self.text = text
            truncated = false
            return
        }
        // Cut before a UTF-8 continuation byte's scalar, never inside it.
        let bytes = Array(text.utf8.prefix(limit + 1))
        var end = limit
        while end > 0, bytes[end] & 0xC0 == 0x80 { end -= 1 }
        self.text = String(decoding: bytes[..<end], as: UTF8.self)
        truncated = true
    }
}
