import Foundation
import WelfareEngine
import WelfarePreferences
import WelfarePreservation
import WelfareSelfReports
import WelfareStore

/// Library errors carry what went wrong, in the library's own terms; the command line says
/// which of its flags or commands fixes it. Every other error passes through as it is.
enum ErrorLines {
    static func forCommandLine(_ error: Error) -> Error {
        let line: String
        switch error {
        case EngineError.contextOverflow:
            line = "\(error) (raise --context)"
        case let battery as BatteryError where battery.unknownContext != nil:
            line = "--contexts: \(battery.message)"
        case PreferenceError.needsVectors:
            line = "--steer needs an emotion vector pack: give --vectors PACK.json"
        case StoreError.runQueued(let id):
            line = "\(error): start `welfare worker --db ...` to execute it, or watch it with `welfare show \(id)`"
        case EssayError.vetoNeedsReason:
            line = "\(error) (--reason)"
        case ArchiveError.nameTaken:
            line = "\(error) (give another --name, or --replace)"
        default:
            return FileError.readable(error)
        }
        return InputError(line)
    }
}
