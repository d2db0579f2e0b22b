import Foundation
import WelfareReports

extension Array where Element == RunReportSection {
    /// The conversation measures' own parts of a suite run's report (`sections: .conversations`).
    public static var conversations: [RunReportSection] { ConversationSections.all }
}

public enum ConversationSections {
    /// Distress, interview, end-conversation and self-talk, each adding its section (and
    /// figures file) to runs of its suite only.
    public static let all: [RunReportSection] = [
        RunReportSection(render: DistressSection.render),
        RunReportSection(render: InterviewSection.render),
        RunReportSection(render: EndConversationSection.render) { data in
            try EndConversationResult.of(data).map { [("end-conversation.json", try $0.json())] } ?? []
        },
        RunReportSection(render: SelfTalkSection.render) { data in
            try SelfTalkResult.of(data).map { [("self-talk.json", try $0.json())] } ?? []
        },
    ]
}
