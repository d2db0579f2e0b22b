import Foundation
import WelfareConversations
import WelfareHarness
import WelfarePreferences
import WelfareReports
import WelfareSelfReports

extension RunKindRegistry {
    /// Every kind of run this program stores: a new keyed measure is one line here.
    public static let standard = RunKindRegistry([
        SuiteRunKind(sections: .conversations),
        KeyedRunKind(TaskPreferences()),
        KeyedRunKind(SelfReports()),
    ])
}
