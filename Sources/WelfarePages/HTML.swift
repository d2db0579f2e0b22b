/// Building blocks for self-contained HTML reports: escaping (all model output is
/// untrusted) and a page shell with inline styles, no scripts, no network.
public enum HTML {
    public static func escape(_ text: String) -> String {
        var out = ""
        out.reserveCapacity(text.utf8.count)
        for character in text.unicodeScalars {
            switch character {
            case "&": out += "&amp;"
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "\"": out += "&quot;"
            case "'": out += "&#39;"
            default: out.unicodeScalars.append(character)
            }
        }
        return out
    }

    public static func page(title: String, body: String) -> String {
        """
        <!DOCTYPE html>
        <html lang="en"><head><meta charset="utf-8">
        <meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'; img-src data:">
        <title>\(escape(title))</title>
        <style>
        body{font:15px/1.5 system-ui,sans-serif;max-width:960px;margin:2em auto;padding:0 1em;color:#222}
        h1,h2,h3{line-height:1.2} table{border-collapse:collapse;margin:1em 0} td,th{border:1px solid #ccc;padding:4px 8px;text-align:left;vertical-align:top}
        pre.transcript{white-space:pre-wrap;background:#f6f6f6;padding:.6em;border-radius:4px}
        .note{background:#fff8e1;border-left:4px solid #f0b400;padding:.5em 1em}
        svg text{font:11px system-ui,sans-serif}
        </style></head><body>
        \(body)
        </body></html>
        """
    }
}
