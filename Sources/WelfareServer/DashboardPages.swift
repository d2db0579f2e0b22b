import Foundation
import WelfarePreservation
import WelfareReports
import WelfarePages

/// The dashboard's own pages. Every value from a run, an archive or a model is escaped;
/// the one script (`/dashboard.js`) only sets text, never markup.
enum DashboardPages {
    static func shell(title: String, body: String, script: Bool = false) -> String {
        """
        <!DOCTYPE html>
        <html lang="en"><head><meta charset="utf-8">
        <meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'; script-src 'self'; connect-src 'self'">
        <title>\(HTML.escape(title))</title>
        <style>
        body{font:15px/1.5 system-ui,sans-serif;max-width:1100px;margin:2em auto;padding:0 1em;color:#222}
        nav a{margin-right:1.2em} table{border-collapse:collapse;margin:1em 0} td,th{border:1px solid #ccc;padding:4px 8px;text-align:left}
        .ok{color:#1a7f37} .bad{color:#b42318} .muted{color:#777}
        </style>\(script ? "<script src=\"/dashboard.js\" defer></script>" : "")</head><body>
        <nav><a href="/">Runs</a><a href="/archive">Archive</a><a href="/essays/">Essays</a><a href="/v1/models">API models</a></nav>
        \(body)
        </body></html>
        """
    }

    static func runs(_ runs: [Dashboard.RunSummary], database: String?, models: [ModelLoad]) -> String {
        var body = "<h1>Runs</h1>"
        if let database {
            body += "<p class=\"muted\">Database <code>\(HTML.escape(database))</code>. Progress updates live "
                + "(<span id=\"live\">connecting</span>).</p>"
        } else {
            body += "<p>No run database: start with <code>--db FILE</code> to watch runs.</p>"
        }
        body += "<table id=\"runs\"><thead><tr><th>run</th><th>suite</th><th>state</th><th>progress</th><th>models</th><th>created</th></tr></thead><tbody>"
        for run in runs {
            let id = HTML.escape(run.id)
            body += "<tr data-run=\"\(id)\"><td><a href=\"/runs/\(id)\">\(id)</a></td><td>\(HTML.escape(run.suite))</td>"
                + "<td class=\"state\">\(HTML.escape(run.state))</td><td class=\"progress\">\(HTML.escape(run.progress))</td>"
                + "<td>\(HTML.escape(run.models))</td><td>\(HTML.escape(run.created))</td></tr>"
        }
        body += "</tbody></table><p id=\"new-runs\" hidden>New runs have started: <a href=\"/\">reload</a> to see them.</p>"
        if runs.isEmpty && database != nil { body += "<p>No runs yet.</p>" }
        body += "<h2>Served models</h2>"
        body += models.isEmpty ? "<p>None: start with <code>-m MODEL</code> or <code>--archive DIR</code>.</p>"
            : "<table><tr><th>id</th><th>from</th><th>loaded</th><th>running</th><th>waiting</th></tr>" + models.map { model in
                "<tr><td>\(HTML.escape(model.id))</td><td>\(HTML.escape(model.origin))</td><td>\(model.loaded ? "yes" : "on first request")</td>"
                    + "<td>\(model.running)</td><td>\(model.waiting)</td></tr>"
            }.joined() + "</table>"
        return shell(title: "ModelWelfare: runs", body: body, script: database != nil)
    }

    static func archive(_ models: [ArchivedModel], root: String) -> String {
        var body = "<h1>Archive</h1><p class=\"muted\"><code>\(HTML.escape(root))</code></p>"
        guard !models.isEmpty else { return shell(title: "Archive", body: body + "<p>The archive holds no model yet.</p>") }
        body += "<table><tr><th>model</th><th>weights</th><th>size</th><th>records</th></tr>"
        for model in models {
            let name = HTML.escape(model.name)
            let weights = model.weights.map { HTML.escape(String($0.digest.prefix(19))) + "…" } ?? "not kept"
            let size = model.weights.map { String(format: "%.1f MB", Double($0.size) / 1e6) } ?? ""
            body += "<tr><td><a href=\"/archive/\(name)\">\(name)</a></td><td><code>\(weights)</code></td><td>\(size)</td>"
                + "<td>\(HTML.escape(model.records.joined(separator: ", ")))</td></tr>"
        }
        return shell(title: "Archive", body: body + "</table>")
    }

    static func archivedModel(_ model: ArchivedModel, checks: [BlobCheck], hasInterview: Bool, served: Bool) -> String {
        let name = HTML.escape(model.name)
        var body = "<h1>\(name)</h1>"
        let bad = checks.filter { $0.state != .ok }
        body += bad.isEmpty ? "<p class=\"ok\">Verified: all \(checks.count) blobs match their SHA-256 digests (checked when this page was loaded).</p>"
            : "<p class=\"bad\">\(bad.count) of \(checks.count) blobs do not verify.</p>"
        body += "<table><tr><th>part</th><th>digest</th><th>state</th></tr>" + checks.map { check in
            "<tr><td>\(HTML.escape(check.what))</td><td><code>\(HTML.escape(check.digest))</code></td>"
                + "<td class=\"\(check.state == .ok ? "ok" : "bad")\">\(check.state.rawValue)</td></tr>"
        }.joined() + "</table>"
        body += hasInterview ? "<p><a href=\"/archive/\(name)/retirement\">Retirement interview</a></p>" : "<p>No retirement interview kept.</p>"
        if served { body += "<p>Served over the API as model <code>\(name)</code>.</p>" }
        return shell(title: model.name, body: body)
    }

    static func message(_ title: String, _ text: String) -> String {
        shell(title: title, body: "<h1>\(HTML.escape(title))</h1><p>\(HTML.escape(text))</p>")
    }

    /// Keeps the runs table current from `/events`: each message is the list of run
    /// summaries; cells are set with textContent, so nothing in them is read as markup.
    static let script = """
        const live = document.getElementById('live');
        const source = new EventSource('/events');
        source.onopen = () => { live.textContent = 'live'; };
        source.onerror = () => { live.textContent = 'reconnecting'; };
        source.onmessage = (event) => {
          const runs = JSON.parse(event.data);
          const rows = new Map([...document.querySelectorAll('tr[data-run]')].map((row) => [row.dataset.run, row]));
          for (const run of runs) {
            const row = rows.get(run.id);
            if (!row) { document.getElementById('new-runs').hidden = false; continue; }
            row.querySelector('.state').textContent = run.state;
            row.querySelector('.progress').textContent = run.progress;
          }
          document.body.dataset.updates = String(Number(document.body.dataset.updates || 0) + 1);
        };
        """
}
