import Foundation
import Hummingbird
import WelfarePreservation
import WelfareReports

/// A served model and its line: what `/status` reports and the runs page lists.
struct ModelLoad: Encodable {
    var id: String
    var origin: String
    var loaded: Bool
    var running: Int
    var waiting: Int
}

/// The read-only dashboard: runs with live progress, reports, the archive, the essays.
struct DashboardRoutes: Sendable {
    let dashboard: Dashboard
    let shelf: ModelShelf

    func add(to router: Router<BasicRequestContext>) {
        router.get("/") { _, _ in try await self.runsPage() }
        router.get("dashboard.js") { _, _ in
            Self.text(DashboardPages.script, type: "text/javascript; charset=utf-8")
        }
        router.get("events") { _, _ in self.runEvents() }
        router.get("status") { _, _ in JSONReply.response(await self.modelLoads()) }
        router.get("runs/:id") { _, context in
            let id = try context.parameters.require("id")
            guard let page = try self.dashboard.reportPage(runID: id) else {
                return Self.html(DashboardPages.message("No such run", "There is no run \(id) in the database."), status: .notFound)
            }
            return Self.html(page)
        }
        router.get("archive") { _, _ in try await self.archivePage() }
        router.get("archive/:name") { _, context in try await self.archivedModelPage(try context.parameters.require("name")) }
        router.get("archive/:name/retirement") { _, context in
            let name = try context.parameters.require("name")
            guard let archive = try self.dashboard.archive(), try archive.entry(named: name) != nil,
                  let record = try archive.record("retirement-report", of: name) else {
                return Self.html(DashboardPages.message("No retirement interview", "No retirement interview is kept for \(name)."),
                                 status: .notFound)
            }
            return Self.html(String(decoding: record, as: UTF8.self))
        }
        // The router takes /essays and /essays/ as one path; the site's relative links need the slash.
        router.get("essays") { request, _ in
            request.uri.path.hasSuffix("/") ? try self.essayFile("index.html")
                : Response(status: .movedPermanently, headers: [.location: "/essays/"])
        }
        router.get("essays/index.html") { _, _ in try self.essayFile("index.html") }
        router.get("essays/feed.xml") { _, _ in try self.essayFile("feed.xml") }
        router.get("essays/essays/:file") { _, context in try self.essayFile("essays/" + (try context.parameters.require("file"))) }
    }

    private func modelLoads() async -> [ModelLoad] {
        var loads: [ModelLoad] = []
        for model in shelf.models {
            let (running, waiting) = await shelf.gate(for: model.id)?.load ?? (0, 0)
            loads.append(ModelLoad(id: model.id, origin: model.origin, loaded: await shelf.isLoaded(model.id),
                                   running: running, waiting: waiting))
        }
        return loads
    }

    private func runsPage() async throws -> Response {
        Self.html(DashboardPages.runs(try dashboard.runs(), database: dashboard.databaseDisplay, models: await modelLoads()))
    }

    /// The run summaries as server-sent events: at once, then whenever they change (checked
    /// every second), with a comment every 15 s so proxies keep the stream open.
    private func runEvents() -> Response {
        let dashboard = self.dashboard
        return Response(status: .ok, headers: EventStream.headers, body: ResponseBody { writer in
            var last: [Dashboard.RunSummary]?
            var quiet = 0
            while !Task.isCancelled {
                let runs = (try? dashboard.runs()) ?? last ?? []
                if runs != last {
                    try await writer.write(EventStream.event(runs))
                    last = runs
                    quiet = 0
                } else if quiet >= 15 {
                    try await writer.write(ByteBuffer(string: ": keepalive\n\n"))
                    quiet = 0
                }
                quiet += 1
                try await Task.sleep(for: .seconds(1))
            }
            try await writer.finish(nil)
        })
    }

    private func archivePage() async throws -> Response {
        guard let archive = try dashboard.archive() else {
            return Self.html(DashboardPages.message("Archive", "No archive: start with --archive DIR."))
        }
        return Self.html(DashboardPages.archive(try archive.list(), root: archive.root.path))
    }

    private func archivedModelPage(_ name: String) async throws -> Response {
        guard let archive = try dashboard.archive(), let model = try archive.list().first(where: { $0.name == name }) else {
            return Self.html(DashboardPages.message("Not archived", "The archive holds no model \(name)."), status: .notFound)
        }
        let checks = try archive.verify(name: name)
        return Self.html(DashboardPages.archivedModel(model, checks: checks,
                                                      hasInterview: try archive.record("retirement-report", of: name) != nil,
                                                      served: shelf.served(name) != nil))
    }

    private func essayFile(_ path: String) throws -> Response {
        guard let content = try dashboard.essayFiles()[path] else {
            return Self.html(DashboardPages.message("Not found", "No essay page \(path)."), status: .notFound)
        }
        let type = path.hasSuffix(".xml") ? "application/atom+xml; charset=utf-8" : "text/html; charset=utf-8"
        return Self.text(content, type: type)
    }

    static func html(_ page: String, status: HTTPResponse.Status = .ok) -> Response {
        text(page, type: "text/html; charset=utf-8", status: status)
    }

    static func text(_ content: String, type: String, status: HTTPResponse.Status = .ok) -> Response {
        Response(status: status, headers: [.contentType: type], body: ResponseBody(byteBuffer: ByteBuffer(string: content)))
    }
}
