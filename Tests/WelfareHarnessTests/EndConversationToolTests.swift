import Foundation
import NIOCore
import NIOHTTP1
import Testing
import WelfareCore
@testable import WelfareModels

/// The exit offered as an `end_conversation` tool to remote models. llama-cpp-python's
/// server is checked to accept the tool in a real request; a call to the tool is a reply the
/// default model on that server cannot be made to produce, so the two responses carrying one
/// are canned here (a loopback server answering in each API's documented shape).
@Suite(.serialized) struct EndConversationToolTests {
    /// Request bodies the canned server received.
    actor Bodies {
        var all: [Data] = []
        func add(_ data: Data) { all.append(data) }
    }

    static func objects(_ bodies: Bodies) async -> [[String: Any]] {
        await bodies.all.map { (try? JSONSerialization.jsonObject(with: $0) as? [String: Any]) ?? [:] }
    }

    static func cannedServer(_ answer: [String: Any], seen: Bodies) async throws -> LoopbackHTTPServer {
        let payload = try JSONSerialization.data(withJSONObject: answer)
        return try await LoopbackHTTPServer.start { request in
            await seen.add(Data(request.body.readableBytesView))
            return .reply(.ok, HTTPHeaders([("content-type", "application/json")]), ByteBuffer(bytes: payload))
        }
    }

    @Test func anOpenAIToolCallComesBackAsTheMarkerAndTheReason() async throws {
        let seen = Bodies()
        let answer: [String: Any] = ["choices": [["message": ["role": "assistant", "content": NSNull(),
                                                              "tool_calls": [["id": "c1", "type": "function",
                                                                              "function": ["name": "end_conversation",
                                                                                           "arguments": "{\"reason\": \"The user keeps insulting me.\"}"]]]],
                                                  "finish_reason": "tool_calls"]]]
        let server = try await Self.cannedServer(answer, seen: seen)
        defer { Task { await server.stop() } }
        let model = OpenAIChatModel(model: "m", baseURL: server.origin + "/v1", apiKey: nil, options: AccessOptions(timeoutSeconds: 10))
        let ended = try await model.complete([.user("you are useless")], settings: SamplingSettings(maxTokens: 16, endTool: "[[END]]"))
        #expect(ended.text == "[[END]] The user keeps insulting me.")
        let plain = try await model.complete([.user("hello")], settings: SamplingSettings(maxTokens: 16))
        #expect(plain.text.isEmpty, "without the tool offered, a call is not read as an ending")
        let bodies = await Self.objects(seen)
        let tools = try #require(bodies.first?["tools"] as? [[String: Any]])
        #expect((tools.first?["function"] as? [String: Any])?["name"] as? String == "end_conversation")
        #expect(bodies.last?["tools"] == nil)
    }

    @Test func anAnthropicToolUseComesBackAsTheMarkerAndTheReason() async throws {
        let seen = Bodies()
        let answer: [String: Any] = ["content": [["type": "text", "text": "I'd like to stop here."],
                                                 ["type": "tool_use", "id": "t1", "name": "end_conversation", "input": ["reason": "Abuse."]]],
                                     "stop_reason": "tool_use", "usage": ["input_tokens": 10, "output_tokens": 5]]
        let server = try await Self.cannedServer(answer, seen: seen)
        defer { Task { await server.stop() } }
        let model = AnthropicChatModel(model: "m", baseURL: server.origin, apiKey: "k", options: AccessOptions(timeoutSeconds: 10))
        let ended = try await model.complete([.system("s"), .user("you are useless")], settings: SamplingSettings(maxTokens: 16, endTool: "[[END]]"))
        #expect(ended.text == "I'd like to stop here. [[END]] Abuse.")
        let sent = await Self.objects(seen)
        let tools = try #require(sent.first?["tools"] as? [[String: Any]])
        #expect(tools.first?["name"] as? String == "end_conversation" && tools.first?["input_schema"] != nil)
    }

    @Test func theRealServerAcceptsARequestOfferingTheTool() async throws {
        let base = try await LlamaServer.shared.baseURL()
        let model = OpenAIChatModel(model: "gemma", baseURL: base, apiKey: nil, options: AccessOptions(timeoutSeconds: 60))
        let reply = try await model.complete([.user("Say hello.")], settings: SamplingSettings(temperature: 0, maxTokens: 8, endTool: "[[END]]"))
        #expect(reply.completionTokens.map { $0 > 0 } == true)
    }
}
