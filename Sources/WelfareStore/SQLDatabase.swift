import Foundation
import GRDB

/// A value bound to a statement or read from a row, the same for both stores.
enum SQLValue: Sendable, Equatable {
    case null
    case integer(Int64)
    case real(Double)
    case text(String)
    case bool(Bool)
    case date(Date)
}

/// What a statement argument can be. `nil` optionals bind as NULL.
protocol SQLBindable: Sendable {
    var sqlValue: SQLValue { get }
}

extension SQLValue: SQLBindable { var sqlValue: SQLValue { self } }
extension String: SQLBindable { var sqlValue: SQLValue { .text(self) } }
extension Int: SQLBindable { var sqlValue: SQLValue { .integer(Int64(self)) } }
extension Int32: SQLBindable { var sqlValue: SQLValue { .integer(Int64(self)) } }
extension Int64: SQLBindable { var sqlValue: SQLValue { .integer(self) } }
extension Double: SQLBindable { var sqlValue: SQLValue { .real(self) } }
extension Bool: SQLBindable { var sqlValue: SQLValue { .bool(self) } }
extension Date: SQLBindable { var sqlValue: SQLValue { .date(self) } }
extension Optional: SQLBindable where Wrapped: SQLBindable {
    var sqlValue: SQLValue { self?.sqlValue ?? .null }
}

/// One result row. Column names are matched without regard to case, because PostgreSQL
/// folds unquoted names (`suiteName`) to lower case.
struct SQLRow: Sendable {
    private let values: [String: SQLValue]

    init(_ pairs: [(String, SQLValue)]) {
        values = Dictionary(pairs.map { ($0.0.lowercased(), $0.1) }, uniquingKeysWith: { first, _ in first })
    }

    func value(_ column: String) -> SQLValue { values[column.lowercased()] ?? .null }

    private func bad(_ column: String, _ type: String) -> StoreError {
        .corruptRecord("column \(column) does not hold \(type)")
    }

    func textOrNil(_ column: String) throws -> String? {
        switch value(column) {
        case .null: return nil
        case .text(let text): return text
        default: throw bad(column, "text")
        }
    }

    func text(_ column: String) throws -> String {
        guard let text = try textOrNil(column) else { throw bad(column, "text") }
        return text
    }

    func int64OrNil(_ column: String) throws -> Int64? {
        switch value(column) {
        case .null: return nil
        case .integer(let value): return value
        case .bool(let flag): return flag ? 1 : 0
        default: throw bad(column, "an integer")
        }
    }

    func int64(_ column: String) throws -> Int64 {
        guard let value = try int64OrNil(column) else { throw bad(column, "an integer") }
        return value
    }

    func intOrNil(_ column: String) throws -> Int? { try int64OrNil(column).map { Int(truncatingIfNeeded: $0) } }
    func int(_ column: String) throws -> Int { Int(truncatingIfNeeded: try int64(column)) }

    func doubleOrNil(_ column: String) throws -> Double? {
        switch value(column) {
        case .null: return nil
        case .real(let value): return value
        case .integer(let value): return Double(value)
        default: throw bad(column, "a number")
        }
    }

    func bool(_ column: String) throws -> Bool {
        switch value(column) {
        case .bool(let flag): return flag
        case .integer(let value): return value != 0
        default: throw bad(column, "a boolean")
        }
    }

    func dateOrNil(_ column: String) throws -> Date? {
        switch value(column) {
        case .null: return nil
        case .date(let date): return date
        case .text(let text):
            guard let date = StoredDate.parse(text) else { throw bad(column, "a date") }
            return date
        default: throw bad(column, "a date")
        }
    }

    func date(_ column: String) throws -> Date {
        guard let date = try dateOrNil(column) else { throw bad(column, "a date") }
        return date
    }

    func decode<T: RawRepresentable>(_ type: T.Type, _ column: String) throws -> T where T.RawValue == String {
        let raw = try text(column)
        guard let value = T(rawValue: raw) else { throw StoreError.corruptRecord("column \(column) holds '\(raw)'") }
        return value
    }
}

/// Statements inside one transaction. SQL is written once for both stores with `?`
/// placeholders and the syntax both share (`ON CONFLICT`, `RETURNING`); `dialect` covers
/// the rest.
protocol SQLExecutor {
    var dialect: SQLDialect { get }
    /// Runs a statement; returns how many rows it changed.
    @discardableResult func execute(_ sql: String, _ arguments: [any SQLBindable]) throws -> Int
    func rows(_ sql: String, _ arguments: [any SQLBindable]) throws -> [SQLRow]
}

extension SQLExecutor {
    func row(_ sql: String, _ arguments: [any SQLBindable] = []) throws -> SQLRow? { try rows(sql, arguments).first }

    func count(_ sql: String, _ arguments: [any SQLBindable] = []) throws -> Int {
        guard let row = try row(sql, arguments), let first = row.firstInteger else { return 0 }
        return Int(first)
    }
}

extension SQLRow {
    var firstInteger: Int64? {
        for value in values.values { if case .integer(let number) = value { return number } }
        return nil
    }
}

enum SQLDialect: Sendable {
    case sqlite, postgres

    /// Row locks: PostgreSQL takes them per row; SQLite's write transactions already hold
    /// the whole file.
    var forUpdate: String { self == .postgres ? " FOR UPDATE" : "" }
    var forShare: String { self == .postgres ? " FOR SHARE" : "" }
}

/// A database both stores are reached through: write transactions that hold their locks
/// from the start (SQLite `BEGIN IMMEDIATE`, PostgreSQL row locks taken by the statements),
/// and reads that see one consistent state.
protocol SQLDatabase: Sendable {
    var dialect: SQLDialect { get }
    @discardableResult func write<T>(_ body: (any SQLExecutor) throws -> T) throws -> T
    func read<T>(_ body: (any SQLExecutor) throws -> T) throws -> T
    @discardableResult func write<T: Sendable>(_ body: @escaping @Sendable (any SQLExecutor) throws -> T) async throws -> T
    func read<T: Sendable>(_ body: @escaping @Sendable (any SQLExecutor) throws -> T) async throws -> T
    func close()
}

/// Dates in SQLite are GRDB's text (UTC, milliseconds), parsed the way GRDB parses them;
/// PostgreSQL keeps `timestamptz` and hands back dates.
enum StoredDate {
    static func parse(_ text: String) -> Date? { Date.fromDatabaseValue(text.databaseValue) }
}
