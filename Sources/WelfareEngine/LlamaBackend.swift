internal import CLlama
import Foundation
import Synchronization

/// Process-wide llama.cpp state: backend initialisation and the log sink. llama.cpp logs
/// to stderr by default; we keep its messages quiet and remember the recent ones, so that
/// when a load fails the one-line error can say why.
enum LlamaBackend {
    private static let recentLog = Mutex<[String]>([])
    private static let initialised: Bool = {
        llama_log_set({ level, text, _ in
            guard let text else { return }
            LlamaBackend.record(level: level, message: String(cString: text))
        }, nil)
        llama_backend_init()
        return true
    }()

    /// Set WELFARE_LLAMA_LOG=1 to see llama.cpp's own log on stderr.
    private static let echoLog = ProcessInfo.processInfo.environment["WELFARE_LLAMA_LOG"] == "1"

    static func ensureInitialised() {
        _ = initialised
    }

    private static func record(level: ggml_log_level, message: String) {
        if echoLog { FileHandle.standardError.write(Data(message.utf8)) }
        guard level == GGML_LOG_LEVEL_ERROR || level == GGML_LOG_LEVEL_WARN else { return }
        let line = message.trimmingCharacters(in: .whitespacesAndNewlines)
        guard !line.isEmpty else { return }
        recentLog.withLock { log in
            log.append(line)
            if log.count > 20 { log.removeFirst(log.count - 20) }
        }
    }

    /// Clears the remembered messages before an operation whose failure we want to explain.
    static func clearRecentErrors() {
        recentLog.withLock { $0.removeAll() }
    }

    /// The last error or warning llama.cpp logged since the last clear, if any.
    static func lastError() -> String? {
        recentLog.withLock { $0.last }
    }
}
