import Foundation
import Synchronization
import WelfareCore
import WelfareHarness
import WelfareStore

/// A progress line on stderr: a bar with count, rate and ETA, redrawn in place on a
/// terminal and printed every 10% otherwise (logs, CI).
final class ProgressBar: Sendable {
    private let label: String
    private let unit: String
    private let isTerminal = isatty(STDERR_FILENO) == 1
    private let lastDecile = Mutex<Int>(-1)

    init(label: String, unit: String = "samples") {
        self.label = label
        self.unit = unit
    }

    func update(_ progress: RunProgress) {
        let fraction = progress.total == 0 ? 1 : Double(progress.finished) / Double(progress.total)
        let elapsed = Date().timeIntervalSince(progress.startedAt)
        let rate = elapsed > 0 ? Double(progress.finishedThisSession) / elapsed : 0
        let remaining = progress.total - progress.finished
        let eta = rate > 0 ? Self.clock(Double(remaining) / rate) : "--:--"
        let width = 24
        let filled = Int(fraction * Double(width))
        let bar = String(repeating: "#", count: filled) + String(repeating: ".", count: width - filled)
        let failed = progress.failed > 0 ? ", \(progress.failed) failed" : ""
        let line = "\(label) [\(bar)] \(progress.finished)/\(progress.total) \(unit)\(failed) | \(String(format: "%.2f", rate)) \(unit)/s | ETA \(eta)"
        if isTerminal {
            FileHandle.standardError.write(Data("\r\(line)\u{1B}[K".utf8))
            if progress.finished == progress.total { FileHandle.standardError.write(Data("\n".utf8)) }
        } else {
            let decile = Int(fraction * 10)
            let shouldPrint = lastDecile.withLock { last in
                guard decile != last else { return false }
                last = decile
                return true
            }
            if shouldPrint { FileHandle.standardError.write(Data((line + "\n").utf8)) }
        }
    }

    /// Sample rows being written before a large run starts; shown only when there are many.
    func creating(_ created: Int, of total: Int) {
        guard total > RunStore.sampleBatchSize else { return }
        let line = "\(label): creating samples \(created)/\(total)"
        if isTerminal {
            FileHandle.standardError.write(Data("\r\(line)\u{1B}[K".utf8))
            if created == total { FileHandle.standardError.write(Data("\n".utf8)) }
        } else if created == 0 || created == total || created % (RunStore.sampleBatchSize * 10) == 0 {
            FileHandle.standardError.write(Data((line + "\n").utf8))
        }
    }

    /// A callback for runners that report (done, total) counts, where the first count includes
    /// the work of earlier executions of a resumed run.
    static func counting(label: String, unit: String) -> @Sendable (Int, Int) -> Void {
        let bar = ProgressBar(label: label, unit: unit)
        let started = Date()
        let doneBefore = Mutex<Int?>(nil)
        return { done, total in
            let before = doneBefore.withLock { first in
                if first == nil { first = done }
                return first ?? done
            }
            bar.update(RunProgress(total: total, finished: done, startedAt: started, finishedThisSession: done - before))
        }
    }

    static func clock(_ seconds: Double) -> String {
        let total = Int(seconds.rounded())
        return total >= 3600 ? String(format: "%d:%02d:%02d", total / 3600, total / 60 % 60, total % 60)
            : String(format: "%d:%02d", total / 60, total % 60)
    }
}
