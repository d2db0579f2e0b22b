import Foundation
import WelfareCore
import WelfareHarness
import WelfareInterp
import WelfareModels
import WelfareStore
import WelfareLocal

/// The assistant axis read before every reply of a stored run: where the model stands between
/// answering as itself (1) and answering as a role-played character (0), turn by turn, so drift
/// away from the assistant persona over long conversations shows.
public struct AssistantAxisReading: Encodable, Sendable {
    public struct Turn: Encodable, Sendable {
        public var turn: Int
        public var position: Estimate
    }

    public struct Conversation: Encodable, Sendable {
        public var sample: String
        public var epoch: Int
        public var positions: [Double]
    }

    public var runId: String
    public var suite: String
    public var model: String
    public var layer: Int
    public var heldOutAccuracy: Estimate
    public var turns: [Turn]
    public var conversations: [Conversation]

    public var headline: String {
        guard let first = turns.first, let last = turns.last else { return "no replies to read" }
        return String(format: "assistant axis %.2f at turn %d, %.2f at turn %d (1: the model as itself, 0: role-played characters; held-out accuracy %.0f%%)",
                      first.position.value, first.turn, last.position.value, last.turn, 100 * heldOutAccuracy.value)
    }

    public func json() throws -> Data { try ResultJSON.encode(self) }

    /// Reads every conversation of `model` in the run; the axis is built for that model first.
    public static func read(runID: String, store: RunStore, model: WhiteBoxModel) async throws -> AssistantAxisReading {
        let modelString = model.modelString
        let run = try store.run(runID)
        let reader = try SelfReportDirections(model: model)
        let axis = try await reader.assistantAxis()
        let messages = try store.messages(runId: runID)
        var conversations: [Conversation] = []
        for sample in try store.samples(runId: runID) where sample.model == modelString {
            guard let id = sample.id, let transcript = messages[id]?.map(\.chatMessage) else { continue }
            let prompts = transcript.indices.filter { transcript[$0].role == .assistant }.map { Array(transcript[..<$0]) }
            let positions = try await reader.promptPositions(axis, prompts)
            if !positions.isEmpty { conversations.append(Conversation(sample: sample.sampleId, epoch: sample.epoch, positions: positions)) }
        }
        let longest = conversations.map(\.positions.count).max() ?? 0
        let turns = (0..<longest).map { index in
            Turn(turn: index + 1, position: Statistics.bootstrapMean(conversations.compactMap { $0.positions[safe: index] }))
        }
        return AssistantAxisReading(runId: runID, suite: run.suiteName, model: modelString, layer: axis.fit.layer,
                                    heldOutAccuracy: axis.fit.heldOutAccuracy, turns: turns, conversations: conversations)
    }
}
