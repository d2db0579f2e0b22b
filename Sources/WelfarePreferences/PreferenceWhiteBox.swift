import Foundation
import WelfareEngine
import WelfareInterp
import WelfareModels

/// A probe with the local model it reads.
struct ProbeAccess: Sendable {
    let probe: EmotionProbe
    let model: LocalChatModel
}

/// What the white-box options of a run need, loaded and checked before it starts: the
/// calibrated emotion probe (`vectors`) and the steered model (`steer`).
struct WhiteBox: Sendable {
    var probe: ProbeAccess?
    var steered: LocalChatModel?

    static func prepare(_ settings: PreferenceSettings, model: any ChatModel, models: ModelPool) async throws -> WhiteBox {
        guard settings.vectors != nil || settings.steer != nil else { return WhiteBox() }
        guard let local = model as? LocalChatModel else {
            throw PreferenceError.needsLocalModel(settings.model, what: settings.steer != nil ? "--steer" : "--vectors")
        }
        guard let path = settings.vectors else { throw PreferenceError.needsVectors }
        let pack = try VectorPack.read(from: URL(fileURLWithPath: path))
        try pack.check(against: local.session.model)
        var whiteBox = WhiteBox(probe: ProbeAccess(probe: try await EmotionProbe.calibrate(session: local.session, pack: pack), model: local))
        if let steer = settings.steer {
            let layer = steer.layer ?? pack.defaultLayer
            guard pack.names.contains(steer.emotion) else { throw PreferenceError.unknownEmotion(steer.emotion, known: pack.names) }
            guard (1..<pack.layerCount).contains(layer) else { throw EngineError.steeringLayerNotSteerable(layer: layer) }
            guard let vector = pack.scaled(steer.emotion, layer: layer, fraction: Float(steer.strength)) else {
                throw PreferenceError.unknownEmotion(steer.emotion, known: pack.names)
            }
            whiteBox.steered = local.steered(Steering(vectors: [layer: vector]), label: steer.label)
        }
        return whiteBox
    }
}
