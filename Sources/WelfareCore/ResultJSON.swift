import Foundation

/// How every measure's result file is written (`preferences.json`, `self-talk.json`...):
/// snake_case keys, sorted and indented, and "nan"/"inf" for undefined figures, since JSON has
/// no number for them.
public enum ResultJSON {
    public static func encode<T: Encodable>(_ value: T) throws -> Data {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        encoder.keyEncodingStrategy = .convertToSnakeCase
        encoder.nonConformingFloatEncodingStrategy = .convertToString(positiveInfinity: "inf", negativeInfinity: "-inf", nan: "nan")
        return try encoder.encode(value)
    }
}
