import Foundation
import GRDB

/// The embedded store: one SQLite file in WAL mode through GRDB (readers beside one writer),
/// or a queue in memory.
final class SQLiteDatabase: SQLDatabase {
    let writer: any DatabaseWriter
    var dialect: SQLDialect { .sqlite }

    init(writer: any DatabaseWriter) { self.writer = writer }

    func write<T>(_ body: (any SQLExecutor) throws -> T) throws -> T {
        try writer.writeWithoutTransaction { db in try Self.immediate(db, body) }
    }

    func write<T: Sendable>(_ body: @escaping @Sendable (any SQLExecutor) throws -> T) async throws -> T {
        try await writer.writeWithoutTransaction { db in try Self.immediate(db, body) }
    }

    func read<T>(_ body: (any SQLExecutor) throws -> T) throws -> T {
        try writer.read { db in try body(GRDBExecutor(db: db)) }
    }

    func read<T: Sendable>(_ body: @escaping @Sendable (any SQLExecutor) throws -> T) async throws -> T {
        try await writer.read { db in try body(GRDBExecutor(db: db)) }
    }

    func close() {}

    /// Immediate transactions: a lease is read and written as one step even when another
    /// process is writing the same file.
    private static func immediate<T>(_ db: Database, _ body: (any SQLExecutor) throws -> T) throws -> T {
        var result: T?
        try db.inTransaction(.immediate) {
            result = try body(GRDBExecutor(db: db))
            return .commit
        }
        guard let result else { throw StoreError.corruptRecord("transaction produced no result") }
        return result
    }
}

struct GRDBExecutor: SQLExecutor {
    let db: Database
    var dialect: SQLDialect { .sqlite }

    @discardableResult func execute(_ sql: String, _ arguments: [any SQLBindable]) throws -> Int {
        try db.execute(sql: sql, arguments: Self.arguments(arguments))
        return db.changesCount
    }

    func rows(_ sql: String, _ arguments: [any SQLBindable]) throws -> [SQLRow] {
        try Row.fetchAll(db, sql: sql, arguments: Self.arguments(arguments)).map { row in
            SQLRow(zip(row.columnNames, row.databaseValues).map { ($0, Self.value($1)) })
        }
    }

    static func arguments(_ values: [any SQLBindable]) -> StatementArguments {
        StatementArguments(values.map { value -> DatabaseValue in
            switch value.sqlValue {
            case .null: return .null
            case .integer(let number): return number.databaseValue
            case .real(let number): return number.databaseValue
            case .text(let text): return text.databaseValue
            case .bool(let flag): return flag.databaseValue
            case .date(let date): return date.databaseValue
            }
        })
    }

    static func value(_ value: DatabaseValue) -> SQLValue {
        switch value.storage {
        case .null: return .null
        case .int64(let number): return .integer(number)
        case .double(let number): return .real(number)
        case .string(let text): return .text(text)
        case .blob(let data): return .text(String(decoding: data, as: UTF8.self))
        }
    }
}
