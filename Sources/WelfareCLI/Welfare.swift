import ArgumentParser
import Foundation
import WelfareCore

struct Welfare: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "welfare",
        abstract: "Measure welfare-relevant states and behaviour of language models.",
        version: WelfareVersion.current,
        subcommands: [
            AssessCommand.self, InterviewCommand.self, DistressCommand.self, PreferencesCommand.self, SelfReportsCommand.self, EndConversationCommand.self, SelfTalkCommand.self, EmotionsCommand.self, IntrospectCommand.self, RunCommand.self, WorkerCommand.self, RunsCommand.self, ExportCommand.self, ScoreCommand.self, ScorersCommand.self, ArchiveCommand.self, RetireCommand.self, EssaysCommand.self, ShowCommand.self, ReportCommand.self,
            ServeCommand.self, GenerateCommand.self, ChatCommand.self, InspectCommand.self, CaptureCommand.self,
        ])
}

/// The entry point: parses, runs, and turns any error into one line (file errors from
/// Foundation name their path instead of printing an NSError dump).
@main
enum WelfareMain {
    static func main() async {
        do {
            var command = try Welfare.parseAsRoot()
            if var asyncCommand = command as? AsyncParsableCommand {
                try await asyncCommand.run()
            } else {
                try command.run()
            }
        } catch {
            Welfare.exit(withError: ErrorLines.forCommandLine(error))
        }
    }
}

/// Foundation's file errors as one line naming the path and the cause.
struct FileError: Error, CustomStringConvertible {
    var description: String

    static func readable(_ error: Error) -> Error {
        guard let cocoa = error as? CocoaError else { return error }
        let path = cocoa.filePath ?? cocoa.url?.path ?? "a file"
        let cause = (cocoa.underlying as? POSIXError).map { String(cString: strerror($0.code.rawValue)) }
            ?? (cocoa.userInfo[NSUnderlyingErrorKey] as? NSError).map { $0.localizedDescription }
            ?? Self.reason(cocoa.code)
        return FileError(description: "cannot \(cocoa.isReadError ? "read" : "write") \(path): \(cause)")
    }

    static func reason(_ code: CocoaError.Code) -> String {
        switch code {
        case .fileNoSuchFile, .fileReadNoSuchFile: return "no such file or folder"
        case .fileWriteNoPermission, .fileReadNoPermission: return "permission denied"
        case .fileWriteOutOfSpace: return "no space left on the device"
        case .fileWriteVolumeReadOnly: return "read-only file system"
        default: return "file error \(code.rawValue)"
        }
    }
}

extension CocoaError {
    var isReadError: Bool { (256...511).contains(code.rawValue) }
}
