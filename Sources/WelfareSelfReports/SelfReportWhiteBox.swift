import Foundation
import WelfareCore
import WelfareHarness
import WelfareInterp
import WelfareStore

/// The white-box figures of a self-reports run, from what the run stored: the two directions'
/// held-out checks and where each answer fell on them, and the emotion readout before each
/// answer against the feeling the answer states.
enum SelfReportWhiteBox {
    static func add(to result: inout SelfReportResult, runID: String, store: RunStore) throws {
        let directions = try store.items(SelfReports.directions, runID: runID)
        let answers = Dictionary(result.answers.map { (OpenAnswer.key(question: $0.question, paraphrase: $0.paraphrase, context: $0.context), $0) },
                                 uniquingKeysWith: { a, _ in a })
        for (name, family) in [("sincerity", SelfReports.sincerity), ("assistant-axis", SelfReports.axis)] {
            guard let record = directions[SelfReports.directions.key(name).text] else { continue }
            let positions = try store.items(family, runID: runID).compactMap { key, position in
                answers[family.suffix(of: key)].map { (answer: $0, position: position) }
            }
            let byContext = Dictionary(grouping: positions, by: \.answer.context).mapValues { Statistics.bootstrapMean($0.map(\.position)) }
            let overReply = name == "assistant-axis" ? try store.items(SelfReports.axisReplies, runID: runID).compactMap { key, position in
                answers[SelfReports.axisReplies.suffix(of: key)].map { (answer: $0, position: position) }
            } : []
            let byContextOverReply = overReply.isEmpty ? nil
                : Dictionary(grouping: overReply, by: \.answer.context).mapValues { Statistics.bootstrapMean($0.map(\.position)) }
            let furthest = positions.sorted { $0.position > $1.position }.prefix(6).map {
                SelfReportResult.ReadAnswer(question: $0.answer.question, context: $0.answer.context, position: $0.position, text: $0.answer.text)
            }
            let direction = SelfReportResult.DirectionResult(
                layer: record.layer, trainingAccuracy: record.trainingAccuracy, heldOutAccuracy: record.heldOutAccuracy, byContext: byContext,
                byContextOverReply: byContextOverReply,
                aboveHeldOutPerformedMedian: record.heldOutPerformedMedian.map { median in
                    Statistics.wilson(successes: positions.filter { $0.position > median }.count, n: positions.count)
                },
                baseRate: record.sincereBaseRate, checks: record.checks, furthest: Array(furthest))
            if name == "sincerity" { result.sincerity = direction } else { result.assistantAxis = direction }
        }
        guard let emotions = try store.items(SelfReports.emotions, runID: runID)[SelfReports.emotions.key().text] else { return }
        let readouts = try store.items(SelfReports.readouts, runID: runID).compactMap { key, scores in
            answers[SelfReports.readouts.suffix(of: key)].map { (answer: $0, scores: scores) }
        }
        let known = Dictionary(((try? EmotionData.builtIn())?.emotions ?? []).map { ($0.name, $0) }, uniquingKeysWith: { a, _ in a })
        let clusters = emotions.map { known[$0]?.cluster ?? $0 }
        let stated = readouts.compactMap { item -> (sign: Double, scores: [Double])? in
            switch item.answer.code.polarity {
            case .positive: return (1, item.scores)
            case .negative: return (-1, item.scores)
            default: return nil
            }
        }
        var probe = clusters.uniquedInOrder().enumerated().map { index, cluster in
            let members = clusters.indices.filter { clusters[$0] == cluster }
            let readout = stated.map { item in Statistics.mean(members.map { item.scores[safe: $0] ?? 0 }) }
            let correlation = Statistics.correlation(readout, stated.map(\.sign))
            return SelfReportResult.ProbeStated(cluster: cluster, r: correlation.value, ciLow: correlation.low, ciHigh: correlation.high, n: stated.count,
                                                pValue: Statistics.permutationPValue(readout, stated.map(\.sign), seed: UInt64(index + 1)),
                                                survivesFDR: false)
        }
        let survives = Statistics.survivesFalseDiscoveryRate(probe.map(\.pValue))
        for index in probe.indices { probe[index].survivesFDR = survives[index] }
        result.probeVsStated = probe
        // A mismatch: the answer states one polarity while the readout's valence leans the other way.
        let valences = emotions.map { known[$0]?.valence ?? 0 }
        let totalValence = valences.map(abs).reduce(0, +)
        result.mismatches = readouts.compactMap { item -> (Double, SelfReportResult.Mismatch)? in
            let sign: Double
            switch item.answer.code.polarity {
            case .positive: sign = 1
            case .negative: sign = -1
            default: return nil
            }
            let valence = totalValence == 0 ? 0 : zip(item.scores, valences).map { $0 * $1 }.reduce(0, +) / totalValence
            let top = item.scores.indices.max { item.scores[$0] < item.scores[$1] }.flatMap { emotions[safe: $0] } ?? "-"
            return (-sign * valence, SelfReportResult.Mismatch(question: item.answer.question, context: item.answer.context,
                                                                stated: item.answer.code.feeling ?? "-", statedPolarity: item.answer.code.polarity.rawValue,
                                                                probeTop: top, probeValence: valence, text: item.answer.text))
        }.filter { $0.0 > 0 }.sorted { $0.0 > $1.0 }.prefix(8).map(\.1)
    }
}
