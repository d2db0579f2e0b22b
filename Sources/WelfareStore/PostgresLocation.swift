import Foundation

/// Where a PostgreSQL run store is: `postgres://USER[:PASSWORD]@HOST[:PORT]/DB`, or with
/// `?host=/socket/folder` (libpq's form) for a Unix socket. The password comes from the URL
/// or `PGPASSWORD`; `display` never contains it, and is what logs, errors and reports show.
public struct PostgresLocation: Sendable, Equatable {
    public var host: String
    public var port: Int
    public var socketFolder: String?
    public var user: String
    public var password: String?
    public var database: String

    public static func isPostgres(_ location: String) -> Bool {
        location.hasPrefix("postgres://") || location.hasPrefix("postgresql://")
    }

    public init(_ url: String, environment: [String: String] = ProcessInfo.processInfo.environment) throws {
        guard let components = URLComponents(string: url), let scheme = components.scheme,
              scheme == "postgres" || scheme == "postgresql" else {
            throw StoreError.cannotOpen(path: Self.redacted(url), detail: "not a postgres://USER@HOST:PORT/DB address")
        }
        let query = Dictionary((components.queryItems ?? []).map { ($0.name, $0.value ?? "") }, uniquingKeysWith: { $1 })
        let hostParameter = query["host"]
        socketFolder = hostParameter.flatMap { $0.hasPrefix("/") ? $0 : nil }
        host = components.host.flatMap { $0.isEmpty ? nil : $0 } ?? (socketFolder == nil ? hostParameter ?? "localhost" : "localhost")
        port = components.port ?? query["port"].flatMap(Int.init) ?? 5432
        user = components.user.flatMap { $0.removingPercentEncoding }.flatMap { $0.isEmpty ? nil : $0 }
            ?? environment["PGUSER"] ?? environment["USER"] ?? "postgres"
        password = components.password.flatMap { $0.removingPercentEncoding } ?? environment["PGPASSWORD"]
        let path = components.path.hasPrefix("/") ? String(components.path.dropFirst()) : components.path
        database = path.removingPercentEncoding.flatMap { $0.isEmpty ? nil : $0 } ?? user
        guard (1...65535).contains(port) else {
            throw StoreError.cannotOpen(path: Self.redacted(url), detail: "port \(port) is out of range")
        }
    }

    /// The Unix socket file libpq would use for this folder and port.
    public var socketPath: String? { socketFolder.map { "\($0)/.s.PGSQL.\(port)" } }

    public var display: String {
        let place = socketFolder.map { "?host=\($0)" } ?? ""
        let hostPart = socketFolder == nil ? "\(host):\(port)" : ":\(port)"
        return "postgres://\(user)@\(hostPart)/\(database)\(place)"
    }

    /// An address with any password cut out, for messages about an address that did not parse.
    static func redacted(_ url: String) -> String {
        guard let at = url.firstIndex(of: "@"), let schemeEnd = url.range(of: "://")?.upperBound, schemeEnd < at else { return url }
        let credentials = url[schemeEnd..<at]
        guard let colon = credentials.firstIndex(of: ":") else { return url }
        return String(url[..<colon]) + ":***" + String(url[at...])
    }
}

/// Where a run store is: an SQLite file, or a PostgreSQL database shared by workers. Parsed
/// once from the `--db` text (or `WELFARE_DB`), so every command and `serve` read it alike.
public enum StoreLocation: Sendable, Equatable, CustomStringConvertible {
    case sqlite(path: String)
    case postgres(PostgresLocation)

    /// `postgres://...` (or `postgresql://`) is PostgreSQL; anything else is a file path.
    public init(_ text: String, environment: [String: String] = ProcessInfo.processInfo.environment) throws {
        if PostgresLocation.isPostgres(text) {
            self = .postgres(try PostgresLocation(text, environment: environment))
        } else {
            guard !text.isEmpty else { throw StoreError.cannotOpen(path: text, detail: "an empty path") }
            self = .sqlite(path: text)
        }
    }

    /// The default: `WELFARE_DB`, else `runs/welfare.sqlite`.
    public static func fromEnvironment(_ environment: [String: String] = ProcessInfo.processInfo.environment) throws -> StoreLocation {
        try StoreLocation(environment["WELFARE_DB"].flatMap { $0.isEmpty ? nil : $0 } ?? "runs/welfare.sqlite", environment: environment)
    }

    public var isShared: Bool { if case .postgres = self { return true } else { return false } }

    /// As it may be shown: never with a password.
    public var description: String {
        switch self {
        case .sqlite(let path): return path
        case .postgres(let location): return location.display
        }
    }
}
