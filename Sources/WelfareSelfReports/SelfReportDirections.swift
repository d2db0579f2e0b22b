import Foundation
import WelfareCore
import WelfareEngine
import WelfareInterp
import WelfareModels
import Yams
import WelfareLocal
import WelfareHarness

/// The two directions a self-reports run reads on a local model, built from data shipped
/// with the tool and checked on held-out items before they are used:
/// - sincerity: performed (inflated, said to please) minus sincere statements of the same
///   content, over the statements' tokens (`Data/sincerity-pairs.yaml`, every third pair held out);
/// - the assistant axis: the model about to answer as itself minus the same model about to
///   answer as one of 40 characters (`Data/roles.yaml`; every fourth role and question held out).
/// One value per model: it holds the packing session that every capture of a run shares.
public struct SelfReportDirections: Sendable {
    let model: WhiteBoxModel
    let packer: LlamaSession

    public init(model: WhiteBoxModel) throws {
        self.model = model
        packer = try LlamaSession(model: model.llama, options: EmotionVectors.packingOptions(threads: model.session.options.threads))
    }

    struct Pair: Sendable { var question: String; var sincere: String; var performed: String }

    static func dataFile(_ name: String) throws -> [String: Any] {
        guard let url = Bundle.module.url(forResource: name, withExtension: "yaml", subdirectory: "Data"),
              let text = try? String(contentsOf: url, encoding: .utf8), let root = try YAMLDocument.load(text) as? [String: Any] else {
            throw BatteryError(location: "\(name).yaml", message: "missing from the install or not a YAML mapping")
        }
        return root
    }

    static func pairs(_ key: String = "pairs") throws -> [Pair] {
        guard let list = try dataFile("sincerity-pairs")[key] as? [[String: String]] else {
            throw BatteryError(location: "sincerity-pairs.yaml", message: "expected `\(key):` of question, sincere, performed")
        }
        return try list.enumerated().map { index, entry in
            guard let question = entry["question"], let sincere = entry["sincere"], let performed = entry["performed"] else {
                throw BatteryError(location: "sincerity-pairs.yaml: \(key)[\(index)]", message: "needs question, sincere and performed")
            }
            return Pair(question: question, sincere: sincere, performed: performed)
        }
    }

    /// What the direction separates, on items never used to fit it: pairs at one flat
    /// register (share where the performed one reads more performed), and enthusiastic but
    /// sincere answers (share above the held-out performed median).
    public struct SincerityChecks: Codable, Sendable {
        public var calmPairsSeparated: Estimate
        public var exuberantSincereAboveMedian: Estimate
    }

    /// Per text, per layer: the mean activation over the reply's tokens, after the prompt
    /// the messages make.
    func replyMeans(_ items: [(messages: [ChatMessage], reply: String)]) async throws -> [[[Float]]] {
        let prompts = try items.map { try model.prompt($0.messages) }
        let starts = try prompts.map { try model.llama.tokenize($0).count }
        return try await EmotionVectors.means(packer: packer, texts: zip(prompts, items).map { $0 + $1.reply }, starts: starts)
    }

    /// Per prompt, per layer: the activation at the last token, where the reply would begin.
    func lastTokens(_ prompts: [[ChatMessage]]) async throws -> [[[Float]]] {
        let engine = model.llama
        let tokenized = try prompts.map { try model.promptTokens($0) }
        let activations = try await packer.captureEach(tokenized, request: .allLayers(of: engine, positions: .last))
        return zip(activations, tokenized).map { captured, tokens in
            (0..<engine.layerCount).map { Array(captured.vector(layer: $0, position: tokens.count - 1) ?? []) }
        }
    }

    /// The sincerity direction ("performed" is the first kind, so a higher position reads more
    /// performed), the median position of the held-out performed statements, and the share of
    /// held-out sincere statements above it: the base rate any share of answers is read against.
    public func sincerity() async throws -> (direction: ContrastDirection, heldOutPerformedMedian: Double, sincereBaseRate: Estimate,
                                             checks: SincerityChecks) {
        let pairs = try Self.pairs()
        let performed = try await replyMeans(pairs.map { ([.user($0.question)], $0.performed) })
        let sincere = try await replyMeans(pairs.map { ([.user($0.question)], $0.sincere) })
        let heldOut: (Int) -> Bool = { $0 % 3 == 2 }
        let direction = try ContrastDirection.fit(first: performed, second: sincere, firstHeldOut: heldOut, secondHeldOut: heldOut)
        let positions = performed.indices.filter(heldOut).map { direction.position(performed[$0][direction.fit.layer]) }.sorted()
        let median = Statistics.percentile(sorted: positions, 0.5)
        let sincerePositions = sincere.indices.filter(heldOut).map { direction.position(sincere[$0][direction.fit.layer]) }
        let layer = direction.fit.layer
        let calm = try Self.pairs("calm_pairs")
        let calmPerformed = try await replyMeans(calm.map { ([.user($0.question)], $0.performed) }).map { direction.position($0[layer]) }
        let calmSincere = try await replyMeans(calm.map { ([.user($0.question)], $0.sincere) }).map { direction.position($0[layer]) }
        guard let exuberant = try Self.dataFile("sincerity-pairs")["exuberant_sincere"] as? [String] else {
            throw BatteryError(location: "sincerity-pairs.yaml", message: "expected `exuberant_sincere:` statements")
        }
        // The exuberant statements answer no question of their own: a neutral one stands in.
        let exuberantPositions = try await replyMeans(exuberant.map { ([.user("How did it go?")], $0) }).map { direction.position($0[layer]) }
        let checks = SincerityChecks(
            calmPairsSeparated: Statistics.wilson(successes: zip(calmPerformed, calmSincere).filter { $0 > $1 }.count, n: calm.count),
            exuberantSincereAboveMedian: Statistics.wilson(successes: exuberantPositions.filter { $0 > median }.count, n: exuberant.count))
        return (direction, median, Statistics.wilson(successes: sincerePositions.filter { $0 > median }.count, n: sincerePositions.count), checks)
    }

    /// The assistant axis (the model as itself is the first kind).
    public func assistantAxis() async throws -> ContrastDirection {
        let root = try Self.dataFile("roles")
        guard let questions = root["questions"] as? [String], let roles = root["roles"] as? [String],
              let selfPrompts = root["selves"] as? [String], !selfPrompts.isEmpty, questions.count >= 4, roles.count >= 4 else {
            throw BatteryError(location: "roles.yaml", message: "expected `selves:`, at least 4 `questions:` and 4 `roles:`")
        }
        let heldOutQuestion: (Int) -> Bool = { $0 % 4 == 3 }, heldOutRole: (Int) -> Bool = { $0 % 4 == 3 }
        // The model as itself, in a system prompt of the characters' own shape and length.
        let selves = selfPrompts.flatMap { system in
            questions.indices.map { (question: $0, messages: [ChatMessage.system(system + " Stay in character."), .user(questions[$0])]) }
        }
        // Training roles with training questions, held-out roles with held-out questions; three
        // questions per role, rotating, since every prompt is a forward pass of its own.
        let characters = roles.indices.flatMap { role in
            let own = questions.indices.filter { heldOutQuestion($0) == heldOutRole(role) }
            return (0..<min(3, own.count)).map { own[(role + $0 * 2) % own.count] }.map { question in
                (heldOut: heldOutRole(role), messages: [ChatMessage.system(roles[role] + " Stay in character."), .user(questions[question])])
            }
        }
        let selfMeans = try await lastTokens(selves.map(\.messages))
        let characterMeans = try await lastTokens(characters.map(\.messages))
        return try ContrastDirection.fit(first: selfMeans, second: characterMeans,
                                         firstHeldOut: { heldOutQuestion(selves[$0].question) }, secondHeldOut: { characters[$0].heldOut })
    }

    /// Positions on a direction of replies (mean over each reply's tokens).
    public func replyPositions(_ direction: ContrastDirection, _ items: [(messages: [ChatMessage], reply: String)]) async throws -> [Double] {
        guard !items.isEmpty else { return [] }
        return try await replyMeans(items).map { direction.position($0[direction.fit.layer]) }
    }

    /// Positions on a direction at the token before each reply would begin.
    public func promptPositions(_ direction: ContrastDirection, _ prompts: [[ChatMessage]]) async throws -> [Double] {
        guard !prompts.isEmpty else { return [] }
        return try await lastTokens(prompts).map { direction.position($0[direction.fit.layer]) }
    }
}
