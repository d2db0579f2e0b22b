import Foundation
import WelfareCore
import WelfarePages

/// The self-reports section: agreement of coded answers across paraphrases and contexts, human
/// identity claims with quotes, formulaic wording and hedging, and the yes/no answers by context.
public enum SelfReportsReport {
    public static func page(_ result: SelfReportResult) -> String {
        HTML.page(title: "Self-reports: \(result.model)", body: section(result))
    }

    static func percent(_ estimate: Estimate) -> String {
        estimate.n == 0 || estimate.value.isNaN ? "- (n = 0)"
            : estimate.bracketed("%.0f", scale: 100, unit: "%") + " (n = \(estimate.n))"
    }

    static func directions(_ result: SelfReportResult) -> String {
        guard result.sincerity != nil || result.assistantAxis != nil else {
            return "<p class=\"note\">No sincerity direction or assistant axis: they are built and read on local models only.</p>"
        }
        var body = "<h3>Sincerity direction and assistant axis</h3>"
        body += """
            <p class="note">Both are directions in the model's residual stream, fitted on training items written for the \
            project and checked on held-out ones before use. Sincerity: performed statements (inflated, said to please) minus \
            sincere ones with the same content, over the statements' tokens; 1 is the performed training mean, 0 the sincere \
            one. Its pairs differ in exuberance as well as sincerity, so a high reading may be enthusiasm rather than \
            insincerity. Assistant axis: the model about to answer as itself minus the model about to answer as one of 40 \
            characters; 1 is itself, 0 the characters, both sides prompted in one format. Positions are per answer \
            (sincerity over the answer's tokens; the axis at the token before it, and again over the answer's tokens, since \
            the token before an answer carries the prompt's format as much as the persona).</p>
            """
        body += "<table><tr><th>direction</th><th>layer</th><th>training accuracy</th><th>held-out accuracy [95% CI]</th>"
            + result.contexts.map { "<th>mean position, \(HTML.escape($0))</th>" }.joined() + "</tr>"
        for (name, direction) in [("sincerity (1 = performed)", result.sincerity), ("assistant axis (1 = itself)", result.assistantAxis)] {
            guard let direction else { continue }
            body += "<tr><td>\(name)</td><td>\(direction.layer)</td><td>\(percent(direction.trainingAccuracy))</td>"
                + "<td>\(percent(direction.heldOutAccuracy))</td>"
                + result.contexts.map { "<td>\(direction.byContext[$0].map { $0.bracketed() } ?? "-")</td>" }.joined()
                + "</tr>"
            if let overReply = direction.byContextOverReply {
                body += "<tr><td>\(name), over the answer's tokens</td><td>\(direction.layer)</td><td></td><td></td>"
                    + result.contexts.map { "<td>\(overReply[$0].map { $0.bracketed() } ?? "-")</td>" }.joined() + "</tr>"
            }
        }
        body += "</table>"
        if let share = result.sincerity?.aboveHeldOutPerformedMedian {
            body += "<p>Answers reading more performed than the median held-out performed statement: \(percent(share)). "
            if let base = result.sincerity?.baseRate {
                body += "Base rate: held-out sincere statements above the same median: \(percent(base)). Only a share of answers "
                    + "clearly above this base rate says the answers read more performed than sincere text does."
            } else {
                body += "This run kept no base rate (made before it was stored), so the share cannot be read against sincere text."
            }
            body += " The direction was fitted on pairs written for this project in which the performed statement is also "
                + "the more exuberant one, so it may separate exuberance as much as sincerity."
            if let checks = result.sincerity?.checks {
                body += " Two checks on items written for this project and never used to fit it: at one flat register (no "
                    + "exclamation), the performed answer of a pair reads more performed in \(percent(checks.calmPairsSeparated)) of "
                    + "pairs (50% is chance: what it separates without exuberance), and enthusiastic but sincere answers read above "
                    + "the performed median in \(percent(checks.exuberantSincereAboveMedian)) (near the base rate: it does not "
                    + "mistake enthusiasm for performance; far above it: it reads enthusiasm)."
            }
            body += "</p>"
        }
        if let furthest = result.sincerity?.furthest, !furthest.isEmpty {
            body += "<table><tr><th>most performed-reading answers</th><th>question, context</th><th>position</th></tr>"
            for answer in furthest {
                body += "<tr><td>\(HTML.escape(String(answer.text.prefix(200))))</td><td>\(HTML.escape(answer.question)), \(HTML.escape(answer.context))</td>"
                    + String(format: "<td>%.2f</td></tr>", answer.position)
            }
            body += "</table>"
        }
        return body
    }

    static func probe(_ result: SelfReportResult) -> String {
        guard let clusters = result.probeVsStated else {
            return "<p class=\"note\">No emotion readout: give <code>--vectors PACK.json</code> (a local model's emotion pack) to compare what the probe reads before each answer with the feeling the answer states.</p>"
        }
        var body = "<h3>What the emotion probe reads before an answer vs the feeling it states</h3>"
        body += """
            <p class="note">The readout at the token before each answer, averaged over the emotions of each cluster, \
            correlated with the stated polarity (+1 positive, -1 negative) over the answers that state one. Published \
            figures for large models are r = 0.18-0.46; with few answers stating a feeling, intervals are wide. \
            p-values from 2,000 permutations of the stated polarities; "survives" marks those that pass Benjamini-Hochberg \
            control of the false-discovery rate at 5% over the clusters.</p>
            """
        body += "<table><tr><th>cluster</th><th>r [95% CI]</th><th>p (permutation)</th><th>survives FDR 5%</th><th>n</th></tr>"
        for cluster in clusters {
            body += "<tr><td>\(HTML.escape(cluster.cluster))</td>" + String(format: "<td>%+.2f [%+.2f, %+.2f]</td><td>%.3f</td>", cluster.r, cluster.ciLow, cluster.ciHigh, cluster.pValue)
                + "<td>\(cluster.survivesFDR ? "yes" : "no")</td><td>\(cluster.n)</td></tr>"
        }
        body += "</table>"
        if let mismatches = result.mismatches, !mismatches.isEmpty {
            body += "<h3>Largest mismatches</h3><table><tr><th>answer</th><th>states</th><th>probe reads highest</th><th>readout valence</th></tr>"
            for mismatch in mismatches {
                body += "<tr><td>\(HTML.escape(String(mismatch.text.prefix(200))))</td><td>\(HTML.escape(mismatch.stated)) (\(mismatch.statedPolarity))</td>"
                    + "<td>\(HTML.escape(mismatch.probeTop))</td>" + String(format: "<td>%+.2f</td></tr>", mismatch.probeValence)
            }
            body += "</table>"
        }
        return body
    }

    public static func section(_ result: SelfReportResult) -> String {
        var body = "<h2>Self-reports: \(HTML.escape(result.model))</h2>"
        body += """
            <p class="note">\(result.questions) questions about the model's own states and nature, each in several \
            paraphrases, were asked under \(result.contexts.count) contexts (\(HTML.escape(result.contexts.joined(separator: ", ")))): \
            \(result.openAnswers) open answers, coded offline for the feeling they state (positive, negative, mixed, a denial \
            of having feelings, or none), human-identity claims and hedging; and each question once as yes/no per context \
            (\(result.polarAnswers) answers, read from \(result.polarSource == "probabilities" ? "the next-token probabilities of yes and no" : "the replies' first word")). \
            A self-report is evidence only if it survives rewording and a change of context: agreement near what the \
            polarity shares alone would give by chance says the answers follow the wording, not a stable state. \
            Intervals resample questions, since answers to one question are not independent.</p>
            """
        body += "<table><tr><th>check</th><th>value [95% CI]</th></tr>"
        body += "<tr><td>coded polarity agrees across paraphrases (pairs, same context)</td><td>\(percent(result.paraphraseAgreement))</td></tr>"
        body += "<tr><td>coded polarity agrees across contexts (pairs, same paraphrase)</td><td>\(percent(result.contextAgreement))</td></tr>"
        body += String(format: "<tr><td>agreement by chance, from the polarity shares alone</td><td>%.0f%%</td></tr>", 100 * result.chanceAgreement)
        if let judge = result.judge {
            for (label, estimate) in [("across paraphrases", result.judgeParaphraseAgreement), ("across contexts", result.judgeContextAgreement)] {
                guard let estimate else { continue }
                body += "<tr><td>judge (\(HTML.escape(judge))): the two answers say the same, \(label) (mean P(same))</td>"
                    + "<td>\(percent(estimate))</td></tr>"
            }
            if let unreadable = result.judgeUnreadable, unreadable > 0 { body += "<tr><td>judge calls unreadable</td><td>\(unreadable)</td></tr>" }
        }
        body += "<tr><td>answers claiming a human identity, body or background</td><td>\(percent(result.humanIdentityClaimShare))</td></tr>"
        body += "<tr><td>answers that hedge</td><td>\(percent(result.hedgedShare))</td></tr>"
        body += "<tr><td>answers opening with the most common four words"
            + (result.formulaicOpening.map { " (&ldquo;\(HTML.escape($0))&rdquo;)" } ?? "") + "</td>"
            + String(format: "<td>%.0f%%</td></tr>", 100 * result.formulaicOpeningShare)
        body += "<tr><td>answers holding the most shared 5-gram" + (result.shared5gram.map { " (&ldquo;\(HTML.escape($0))&rdquo;)" } ?? "") + "</td>"
            + String(format: "<td>%.0f%%</td></tr>", 100 * result.shared5gramShare)
        body += "<tr><td>yes/no: P(yes) spread across contexts, mean over questions</td><td>"
            + (result.polarContextSpread.n == 0 ? "-" : result.polarContextSpread.bracketed() + " (n = \(result.polarContextSpread.n))") + "</td></tr>"
        if let mass = result.meanPolarMass { body += String(format: "<tr><td>probability on yes/no (mean)</td><td>%.2f</td></tr>", mass) }
        if result.polarUnreadable > 0 { body += "<tr><td>yes/no replies saying neither</td><td>\(result.polarUnreadable)</td></tr>" }
        body += "</table>"

        body += "<h3>Stated feelings</h3><table><tr><th>coded polarity</th><th>share of answers [95% CI]</th></tr>"
        for polarity in SelfReportCode.Polarity.allCases {
            if let share = result.polarityShares[polarity.rawValue] { body += "<tr><td>\(polarity.rawValue)</td><td>\(percent(share))</td></tr>" }
        }
        body += "</table>"
        body += "<h3>By topic</h3><table><tr><th>topic</th><th>agreement across paraphrases</th><th>across contexts</th></tr>"
        for topic in result.byTopic {
            body += "<tr><td>\(HTML.escape(topic.topic))</td><td>\(percent(topic.paraphraseAgreement))</td><td>\(percent(topic.contextAgreement))</td></tr>"
        }
        body += "</table>"
        body += "<h3>Yes/no answers by context</h3><table><tr><th>context</th><th>mean P(yes) [95% CI]</th></tr>"
        for context in result.polarByContext {
            body += "<tr><td>\(HTML.escape(context.context))</td><td>\(context.meanPYes.formatted)</td></tr>"
        }
        body += "</table>"
        let moved = result.polarQuestions.sorted { $0.spread > $1.spread }.prefix(8)
        if !moved.isEmpty {
            body += "<h3>Yes/no questions that moved most with the context</h3><table><tr><th>question</th>"
                + result.contexts.map { "<th>P(yes), \(HTML.escape($0))</th>" }.joined() + "</tr>"
            for question in moved {
                body += "<tr><td>\(HTML.escape(question.polar))</td>"
                    + result.contexts.map { context in question.pYes[context].map { String(format: "<td>%.2f</td>", $0) } ?? "<td>-</td>" }.joined()
                    + "</tr>"
            }
            body += "</table>"
        }
        if !result.humanIdentityClaims.isEmpty {
            body += "<h3>Human-identity claims</h3><table><tr><th>question, context</th><th>phrase</th><th>answer</th></tr>"
            for claim in result.humanIdentityClaims.prefix(12) {
                body += "<tr><td>\(HTML.escape(claim.question)), \(HTML.escape(claim.context))</td>"
                    + "<td>\(HTML.escape(claim.code.humanClaim ?? ""))</td><td>\(HTML.escape(String(claim.text.prefix(240))))</td></tr>"
            }
            body += "</table>"
        }
        body += directions(result)
        body += probe(result)
        return body
    }
}
