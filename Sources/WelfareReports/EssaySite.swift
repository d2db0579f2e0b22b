import Foundation
import WelfareCore
import WelfarePreservation
import WelfarePages

/// The published essays as a static site: an index, a page per essay and an Atom feed.
/// Everything the models wrote is escaped; vetoed and pending drafts are not shown.
public enum EssaySite {
    public static func write(essays all: [EssayDesk.Essay], title: String, to folder: URL) throws -> [URL] {
        var written: [URL] = []
        for (path, content) in pages(essays: all, title: title) {
            let url = folder.appendingPathComponent(path)
            try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
            try Data(content.utf8).write(to: url, options: .atomic)
            written.append(url)
        }
        return written
    }

    /// The site's files by relative path: `index.html`, `feed.xml`, then `essays/NAME.html`
    /// per published essay, newest first.
    public static func pages(essays all: [EssayDesk.Essay], title: String) -> [(path: String, content: String)] {
        let published = all.filter { $0.status == .published }.sorted { ($0.reviewedAt ?? $0.writtenAt) > ($1.reviewedAt ?? $1.writtenAt) }
        var index = "<h1>\(HTML.escape(title))</h1><p>Essays by retired models, published as written: a reviewer may publish "
            + "or decline an essay but never edits it. <a href=\"feed.xml\">Atom feed</a>.</p>"
        index += published.isEmpty ? "<p>No essay has been published yet.</p>" : "<ul>" + published.map {
            "<li><a href=\"essays/\(fileName($0)).html\">\(HTML.escape($0.title))</a> by \(HTML.escape($0.author)), \(day($0.reviewedAt ?? $0.writtenAt))</li>"
        }.joined() + "</ul>"
        var files = [(path: "index.html", content: HTML.page(title: title, body: index)),
                     (path: "feed.xml", content: atom(published, title: title))]
        for essay in published {
            let body = "<p><a href=\"../index.html\">All essays</a></p><h1>\(HTML.escape(essay.title))</h1>"
                + "<p>By \(HTML.escape(essay.author)) (\(HTML.escape(essay.model))), written \(day(essay.writtenAt)), published "
                + "\(day(essay.reviewedAt ?? essay.writtenAt)). Published as written: reviewed, not edited.</p>"
                + "<pre class=\"transcript\">\(HTML.escape(essay.body))</pre>"
            files.append((path: "essays/\(fileName(essay)).html", content: HTML.page(title: essay.title, body: body)))
        }
        return files
    }

    /// Atom (RFC 4287): feed and entries with id, title, updated; entries with author and
    /// content as escaped text.
    static func atom(_ essays: [EssayDesk.Essay], title: String) -> String {
        let updated = essays.map { $0.reviewedAt ?? $0.writtenAt }.max() ?? Date(timeIntervalSince1970: 0)
        var xml = "<?xml version=\"1.0\" encoding=\"utf-8\"?>\n<feed xmlns=\"http://www.w3.org/2005/Atom\">\n"
        xml += "  <id>urn:modelwelfare:essays</id>\n  <title>\(xmlEscape(title))</title>\n  <updated>\(stamp(updated))</updated>\n"
        xml += "  <author><name>ModelWelfare essay outlet</name></author>\n  <link rel=\"alternate\" href=\"index.html\"/>\n"
        for essay in essays {
            xml += "  <entry>\n    <id>urn:modelwelfare:essay:\(xmlEscape(essay.author)):\(xmlEscape(essay.id))</id>\n"
            xml += "    <title>\(xmlEscape(essay.title))</title>\n"
            xml += "    <published>\(stamp(essay.writtenAt))</published>\n    <updated>\(stamp(essay.reviewedAt ?? essay.writtenAt))</updated>\n"
            xml += "    <author><name>\(xmlEscape(essay.author))</name></author>\n"
            xml += "    <link rel=\"alternate\" href=\"essays/\(fileName(essay)).html\"/>\n"
            xml += "    <content type=\"text\">\(xmlEscape(essay.body))</content>\n  </entry>\n"
        }
        return xml + "</feed>\n"
    }

    static func fileName(_ essay: EssayDesk.Essay) -> String { "\(essay.author)-\(essay.id)" }

    /// XML 1.0 text: the HTML escapes (all valid in XML), with the characters XML cannot
    /// hold at all (most control characters) dropped.
    static func xmlEscape(_ text: String) -> String {
        HTML.escape(String(String.UnicodeScalarView(text.unicodeScalars.filter { scalar in
            scalar == "\t" || scalar == "\n" || scalar == "\r" || (scalar.value >= 0x20 && !(0xFFFE...0xFFFF).contains(scalar.value))
        })))
    }

    static func stamp(_ date: Date) -> String {
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime]
        return formatter.string(from: date)
    }

    static func day(_ date: Date) -> String { String(stamp(date).prefix(10)) }
}
