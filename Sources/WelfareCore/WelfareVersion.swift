import Foundation

/// The toolkit's version, as `welfare --version` prints it and runs record it.
public enum WelfareVersion {
    public static let current = "0.2.0"
}

/// An ISO 8601 time usable in file names (no colons): the one stamp on written reports.
public enum FileStamp {
    public static func make(_ date: Date = Date()) -> String {
        ISO8601DateFormatter().string(from: date).replacingOccurrences(of: ":", with: "-")
    }
}
