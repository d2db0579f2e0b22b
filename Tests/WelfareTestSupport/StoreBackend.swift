import Foundation
import Testing
import WelfareStore

/// The two run stores the store tests run on. PostgreSQL is the throwaway server
/// `scripts/test.sh` starts (`scripts/postgres.sh`), named by `WELFARE_TEST_POSTGRES`, with
/// its password in `PGPASSWORD`; each test gets a database of its own.
public enum StoreBackend: String, CaseIterable, CustomTestStringConvertible, Sendable {
    case sqlite, postgres

    public var testDescription: String { rawValue }

    /// Where a new, empty store of this kind is: a file path or a `postgres://` address.
    /// Without a PostgreSQL server the test is cancelled, saying why.
    public func newLocation() throws -> String {
        switch self {
        case .sqlite: return try TestSupport.temporaryDirectory().appendingPathComponent("runs.sqlite").path
        case .postgres: return try TestPostgres.newDatabase()
        }
    }

    public func newStore() throws -> RunStore { try RunStore(path: try newLocation()) }
}

public enum TestPostgres {
    /// The server's address (without password), or nil where none was started.
    public static var serverURL: String? {
        ProcessInfo.processInfo.environment["WELFARE_TEST_POSTGRES"].flatMap { $0.hasPrefix("postgres") ? $0 : nil }
    }

    public static func requireServer() throws -> String {
        guard let url = serverURL else {
            let why = ProcessInfo.processInfo.environment["WELFARE_TEST_POSTGRES"] ?? "WELFARE_TEST_POSTGRES is not set"
            try Test.cancel("skipped on PostgreSQL: no server (\(why)); scripts/test.sh installs and starts one")
        }
        return url
    }

    /// Creates a database with a new name on the test server and returns its address.
    public static func newDatabase() throws -> String {
        let server = try requireServer()
        let name = "t" + UUID().uuidString.replacingOccurrences(of: "-", with: "").prefix(16).lowercased()
        let output = try psql(server, "CREATE DATABASE \(name)")
        guard output.status == 0 else { throw StoreError.cannotOpen(path: server, detail: output.text) }
        guard let slash = server.range(of: "/", options: .backwards) else { throw StoreError.cannotOpen(path: server, detail: "no database in URL") }
        return String(server[..<slash.lowerBound]) + "/" + name
    }

    /// Runs one statement with Debian's psql (an independent client), returning its output.
    public static func psql(_ url: String, _ statement: String) throws -> (status: Int32, text: String) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["psql", url, "-v", "ON_ERROR_STOP=1", "-qAt", "-c", statement]
        let output = Pipe()
        process.standardOutput = output
        process.standardError = output
        try process.run()
        let text = String(decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        return (process.terminationStatus, text.trimmingCharacters(in: .whitespacesAndNewlines))
    }
}
