import Foundation
import Logging
import NIOCore
import NIOPosix
import PostgresNIO

/// The shared store: PostgreSQL through PostgresNIO. Connections are pooled; each
/// transaction has one to itself. Statements are awaited on NIO's threads from a thread of
/// our own (`queue`), never from the cooperative pool, so synchronous and async callers both
/// work and a slow server cannot starve the runner's tasks.
final class PostgresDatabase: SQLDatabase, @unchecked Sendable {
    let location: PostgresLocation
    var dialect: SQLDialect { .postgres }
    private let configuration: PostgresConnection.Configuration
    private let lock = NSLock()
    private var idle: [PostgresConnection] = []
    private var nextID = 0
    private var closed = false
    private static let queue = DispatchQueue(label: "welfare.postgres", attributes: .concurrent)
    /// PostgresNIO logs through swift-log; nothing of it is wanted on a command's output.
    static let logger = Logger(label: "welfare.postgres", factory: { _ in SwiftLogNoOpLogHandler() })

    init(location: PostgresLocation) {
        self.location = location
        var configuration: PostgresConnection.Configuration
        if let socket = location.socketPath {
            configuration = .init(unixSocketPath: socket, username: location.user, password: location.password, database: location.database)
        } else {
            configuration = .init(host: location.host, port: location.port, username: location.user, password: location.password,
                                  database: location.database, tls: .disable)
        }
        configuration.options.connectTimeout = .seconds(10)
        self.configuration = configuration
    }

    func write<T>(_ body: (any SQLExecutor) throws -> T) throws -> T { try transaction(begin: "BEGIN", body) }

    func read<T>(_ body: (any SQLExecutor) throws -> T) throws -> T {
        try transaction(begin: "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY", body)
    }

    func write<T: Sendable>(_ body: @escaping @Sendable (any SQLExecutor) throws -> T) async throws -> T {
        try await offPool { try self.write(body) }
    }

    func read<T: Sendable>(_ body: @escaping @Sendable (any SQLExecutor) throws -> T) async throws -> T {
        try await offPool { try self.read(body) }
    }

    func close() {
        let connections = lock.withLock { () -> [PostgresConnection] in
            closed = true
            defer { idle.removeAll() }
            return idle
        }
        for connection in connections { Self.close(connection) }
    }

    deinit { close() }

    private func offPool<T: Sendable>(_ work: @escaping @Sendable () throws -> T) async throws -> T {
        try await withCheckedThrowingContinuation { continuation in
            Self.queue.async { continuation.resume(with: Result { try work() }) }
        }
    }

    /// One transaction on a connection of its own. A serialization failure or deadlock
    /// (which PostgreSQL resolves by aborting one side) is retried; the bodies only touch
    /// the database, so running one again is safe.
    private func transaction<T>(begin: String, _ body: (any SQLExecutor) throws -> T) throws -> T {
        var attempt = 0
        while true {
            let connection = try checkout()
            let executor = PostgresExecutor(connection: connection)
            do {
                try executor.execute(begin, [])
                let result = try body(executor)
                try executor.execute("COMMIT", [])
                checkin(connection)
                return result
            } catch {
                _ = try? executor.execute("ROLLBACK", [])
                checkin(connection)
                if attempt < 5, Self.isRetryable(error) {
                    attempt += 1
                    Thread.sleep(forTimeInterval: 0.01 * Double(attempt))
                    continue
                }
                throw Self.storeError(error, location: location)
            }
        }
    }

    private func checkout() throws -> PostgresConnection {
        let reused = lock.withLock { () -> PostgresConnection? in
            while let connection = idle.popLast() { if !connection.isClosed { return connection } }
            nextID += 1
            return nil
        }
        if let reused { return reused }
        let id = lock.withLock { nextID }
        do {
            return try PostgresConnection.connect(on: MultiThreadedEventLoopGroup.singleton.any(), configuration: configuration,
                                                  id: id, logger: Self.logger).wait()
        } catch {
            throw StoreError.cannotOpen(path: location.display, detail: Self.describe(error))
        }
    }

    private func checkin(_ connection: PostgresConnection) {
        let keep = lock.withLock { () -> Bool in
            guard !closed, !connection.isClosed, idle.count < 16 else { return false }
            idle.append(connection)
            return true
        }
        if !keep { Self.close(connection) }
    }

    /// Not awaited (this also runs from deinit, which may be on any thread); the closure
    /// holds the connection until it is closed, as PostgresNIO requires of its last reference.
    private static func close(_ connection: PostgresConnection) {
        let closing: EventLoopFuture<Void> = connection.close()
        closing.whenComplete { _ in withExtendedLifetime(connection) {} }
    }

    static func isRetryable(_ error: Error) -> Bool {
        guard let error = error as? PSQLError, let state = error.serverInfo?[.sqlState] else { return false }
        return state == "40001" || state == "40P01"
    }

    /// Errors of our own pass through; the server's become one line with its message and
    /// code (PSQLError's own description hides both).
    static func storeError(_ error: Error, location: PostgresLocation) -> Error {
        if error is StoreError || error is CancellationError { return error }
        if let error = error as? PSQLError, error.serverInfo == nil, error.code == .connectionError || error.code == .serverClosedConnection {
            return StoreError.cannotOpen(path: location.display, detail: "the connection was lost")
        }
        return StoreError.database(describe(error))
    }

    static func describe(_ error: Error) -> String {
        guard let error = error as? PSQLError else { return RunStore.oneLine(error) }
        if let info = error.serverInfo {
            let message = info[.message] ?? "error"
            return info[.sqlState].map { "\(message) (SQLSTATE \($0))" } ?? message
        }
        if let underlying = error.underlying {
            let text = RunStore.oneLine(underlying)
            // NIO's connection errors nest the reason in a long description.
            for reason in ["Connection refused", "No such file or directory", "Connection timed out", "No route to host"] where text.contains(reason) {
                return "\(reason.lowercased()): is a PostgreSQL server listening there?"
            }
            return text
        }
        return "\(error.code)"
    }
}

/// Statements on one connection inside a transaction, awaited here (never on an event loop).
struct PostgresExecutor: SQLExecutor {
    let connection: PostgresConnection
    var dialect: SQLDialect { .postgres }

    @discardableResult func execute(_ sql: String, _ arguments: [any SQLBindable]) throws -> Int {
        try run(sql, arguments).metadata.rows ?? 0
    }

    func rows(_ sql: String, _ arguments: [any SQLBindable]) throws -> [SQLRow] {
        try run(sql, arguments).rows.map { row in try SQLRow(row.map { cell in (cell.columnName, try Self.value(cell)) }) }
    }

    private func run(_ sql: String, _ arguments: [any SQLBindable]) throws -> PostgresQueryResult {
        var bindings = PostgresBindings(capacity: arguments.count)
        for argument in arguments {
            switch argument.sqlValue {
            case .null: bindings.appendNull()
            case .integer(let number): bindings.append(number)
            case .real(let number): bindings.append(number)
            // PostgreSQL text cannot hold NUL; it is kept visible as U+2400 rather than refused.
            case .text(let text): bindings.append(text.contains("\u{0}") ? text.replacingOccurrences(of: "\u{0}", with: "\u{2400}") : text)
            case .bool(let flag): bindings.append(flag)
            case .date(let date): bindings.append(date)
            }
        }
        let query = PostgresQuery(unsafeSQL: Self.numberedPlaceholders(sql), binds: bindings)
        return try connection.query(query, logger: PostgresDatabase.logger).wait()
    }

    /// `?` outside quotes becomes `$1`, `$2`, ... (the SQL here is written once for both stores).
    static func numberedPlaceholders(_ sql: String) -> String {
        var result = ""
        var number = 0
        var quoted = false
        for character in sql {
            if character == "'" { quoted.toggle() }
            if character == "?" && !quoted {
                number += 1
                result += "$\(number)"
            } else {
                result.append(character)
            }
        }
        return result
    }

    static func value(_ cell: PostgresCell) throws -> SQLValue {
        guard cell.bytes != nil else { return .null }
        switch cell.dataType {
        case .int2, .int4, .int8: return .integer(try cell.decode(Int64.self))
        case .float4, .float8: return .real(try cell.decode(Double.self))
        case .bool: return .bool(try cell.decode(Bool.self))
        case .timestamp, .timestamptz, .date: return .date(try cell.decode(Date.self))
        default: return .text(try cell.decode(String.self))
        }
    }
}
