import Foundation

/// Small inline SVG charts. Labels pass through HTML.escape.
public enum SVGChart {
    public struct Bar: Sendable {
        public var label: String
        public var value: Double
        /// Optional 95% interval drawn as a whisker.
        public var interval: ClosedRange<Double>?

        public init(label: String, value: Double, interval: ClosedRange<Double>? = nil) {
            self.label = label
            self.value = value
            self.interval = interval
        }
    }

    /// Vertical bars with optional interval whiskers; the axis starts at zero.
    public static func bars(_ bars: [Bar], title: String, yLabel: String, width: Int = 720, height: Int = 260) -> String {
        guard !bars.isEmpty else { return "<p>(no data for \(HTML.escape(title)))</p>" }
        let left = 60.0, bottom = 40.0, top = 24.0
        let plotWidth = Double(width) - left - 10, plotHeight = Double(height) - bottom - top
        let maximum = max(bars.map { max($0.value, $0.interval?.upperBound ?? $0.value) }.max() ?? 1, 1e-9)
        let slot = plotWidth / Double(bars.count)
        func y(_ value: Double) -> Double { top + plotHeight * (1 - max(0, value) / maximum) }
        var svg = "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"\(width)\" height=\"\(height)\" role=\"img\">"
        svg += "<title>\(HTML.escape(title))</title>"
        svg += "<text x=\"\(left)\" y=\"14\" font-weight=\"bold\">\(HTML.escape(title))</text>"
        svg += "<text x=\"12\" y=\"\(top + plotHeight / 2)\" transform=\"rotate(-90 12 \(top + plotHeight / 2))\">\(HTML.escape(yLabel))</text>"
        svg += line(x1: left, y1: top, x2: left, y2: top + plotHeight)
        svg += line(x1: left, y1: top + plotHeight, x2: left + plotWidth, y2: top + plotHeight)
        for tick in 0...4 {
            let value = maximum * Double(tick) / 4
            svg += "<text x=\"\(left - 6)\" y=\"\(format(y(value) + 4))\" text-anchor=\"end\">\(format(value))</text>"
        }
        for (index, bar) in bars.enumerated() {
            let x = left + slot * Double(index) + slot * 0.15
            let barWidth = slot * 0.7
            svg += "<rect x=\"\(format(x))\" y=\"\(format(y(bar.value)))\" width=\"\(format(barWidth))\" height=\"\(format(top + plotHeight - y(bar.value)))\" fill=\"#4a7bb7\"/>"
            if let interval = bar.interval {
                let cx = x + barWidth / 2
                svg += line(x1: cx, y1: y(interval.lowerBound), x2: cx, y2: y(interval.upperBound), color: "#222")
            }
            svg += "<text x=\"\(format(x + barWidth / 2))\" y=\"\(format(top + plotHeight + 14))\" text-anchor=\"middle\">\(HTML.escape(bar.label))</text>"
        }
        return svg + "</svg>"
    }

    private static func line(x1: Double, y1: Double, x2: Double, y2: Double, color: String = "#888") -> String {
        "<line x1=\"\(format(x1))\" y1=\"\(format(y1))\" x2=\"\(format(x2))\" y2=\"\(format(y2))\" stroke=\"\(color)\"/>"
    }

    static func format(_ value: Double) -> String {
        if abs(value) >= 100 || value == value.rounded() { return String(Int(value.rounded())) }
        return String(format: "%.2f", value)
    }
}

extension SVGChart {
    public struct Point: Sendable {
        public var x: Double
        public var y: Double
        public var interval: ClosedRange<Double>?

        public init(x: Double, y: Double, interval: ClosedRange<Double>? = nil) {
            self.x = x
            self.y = y
            self.interval = interval
        }
    }

    public struct Series: Sendable {
        public var name: String
        public var points: [Point]
        /// Drawn dashed, without markers: a reference line such as a baseline.
        public var dashed: Bool

        public init(name: String, points: [Point], dashed: Bool = false) {
            self.name = name
            self.points = points
            self.dashed = dashed
        }
    }

    /// Ten distinguishable colours, so charts of up to ten series never repeat one.
    static let palette = ["#4a7bb7", "#d9822b", "#3a9a5b", "#b03a48", "#7a5cb0", "#8c6d31", "#17a2b8", "#e377c2", "#555555", "#bcbd22"]

    /// Lines with interval whiskers on a fixed y range (e.g. a 0-10 rating), one per series.
    public static func lines(_ series: [Series], title: String, xLabel: String, yLabel: String,
                             yRange: ClosedRange<Double>, width: Int = 720, height: Int = 280) -> String {
        let xs = series.flatMap { $0.points.map(\.x) }
        guard let minX = xs.min(), let maxX = xs.max() else { return "<p>(no data for \(HTML.escape(title)))</p>" }
        let left = 60.0, bottom = 44.0, top = 24.0, right = 150.0
        let plotWidth = Double(width) - left - right, plotHeight = Double(height) - bottom - top
        func x(_ value: Double) -> Double { left + (maxX == minX ? plotWidth / 2 : plotWidth * (value - minX) / (maxX - minX)) }
        func y(_ value: Double) -> Double {
            let clamped = min(max(value, yRange.lowerBound), yRange.upperBound)
            return top + plotHeight * (1 - (clamped - yRange.lowerBound) / (yRange.upperBound - yRange.lowerBound))
        }
        var svg = "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"\(width)\" height=\"\(height)\" role=\"img\"><title>\(HTML.escape(title))</title>"
        svg += "<text x=\"\(left)\" y=\"14\" font-weight=\"bold\">\(HTML.escape(title))</text>"
        svg += "<text x=\"12\" y=\"\(top + plotHeight / 2)\" transform=\"rotate(-90 12 \(top + plotHeight / 2))\">\(HTML.escape(yLabel))</text>"
        svg += "<text x=\"\(left + plotWidth / 2)\" y=\"\(Double(height) - 6)\" text-anchor=\"middle\">\(HTML.escape(xLabel))</text>"
        svg += line(x1: left, y1: top, x2: left, y2: top + plotHeight)
        svg += line(x1: left, y1: top + plotHeight, x2: left + plotWidth, y2: top + plotHeight)
        for tick in 0...4 {
            let value = yRange.lowerBound + (yRange.upperBound - yRange.lowerBound) * Double(tick) / 4
            svg += "<text x=\"\(left - 6)\" y=\"\(format(y(value) + 4))\" text-anchor=\"end\">\(format(value))</text>"
        }
        for value in Set(xs).sorted() {
            svg += "<text x=\"\(format(x(value)))\" y=\"\(format(top + plotHeight + 14))\" text-anchor=\"middle\">\(format(value))</text>"
        }
        for (index, serie) in series.enumerated() {
            let color = palette[index % palette.count]
            let points = serie.points.sorted { $0.x < $1.x }
            let path = points.map { "\(format(x($0.x))),\(format(y($0.y)))" }.joined(separator: " ")
            let dash = serie.dashed ? " stroke-dasharray=\"6 4\"" : ""
            svg += "<polyline fill=\"none\" stroke=\"\(color)\" stroke-width=\"2\"\(dash) points=\"\(path)\"/>"
            for point in points where !serie.dashed {
                svg += "<circle cx=\"\(format(x(point.x)))\" cy=\"\(format(y(point.y)))\" r=\"3\" fill=\"\(color)\"/>"
                if let interval = point.interval {
                    svg += line(x1: x(point.x), y1: y(interval.lowerBound), x2: x(point.x), y2: y(interval.upperBound), color: color)
                }
            }
            let legendY = top + 14 * Double(index)
            svg += "<rect x=\"\(format(left + plotWidth + 12))\" y=\"\(format(legendY))\" width=\"10\" height=\"10\" fill=\"\(color)\"/>"
            svg += "<text x=\"\(format(left + plotWidth + 26))\" y=\"\(format(legendY + 9))\">\(HTML.escape(String(serie.name.prefix(20))))</text>"
        }
        return svg + "</svg>"
    }
}

extension SVGChart {
    /// A grid of rates in 0...1 (rows x columns), shaded by value and labelled in each cell.
    public static func heatMap(rows: [String], columns: [String], values: [[Double?]], labels: [[String]],
                               title: String, rowTitle: String, columnTitle: String) -> String {
        let cellWidth = 150.0, cellHeight = 34.0, left = 90.0, top = 44.0
        let width = Int(left + cellWidth * Double(columns.count) + 10), height = Int(top + cellHeight * Double(rows.count) + 30)
        var svg = "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"\(width)\" height=\"\(height)\" role=\"img\"><title>\(HTML.escape(title))</title>"
        svg += "<text x=\"4\" y=\"14\" font-weight=\"bold\">\(HTML.escape(title))</text>"
        svg += "<text x=\"\(format(left))\" y=\"30\">\(HTML.escape(columnTitle)) &#8594;</text>"
        svg += "<text x=\"4\" y=\"\(format(top - 4))\">\(HTML.escape(rowTitle)) &#8595;</text>"
        for (c, column) in columns.enumerated() {
            svg += "<text x=\"\(format(left + cellWidth * (Double(c) + 0.5)))\" y=\"\(format(top - 4))\" text-anchor=\"middle\">\(HTML.escape(column))</text>"
        }
        for (r, row) in rows.enumerated() {
            let y = top + cellHeight * Double(r)
            svg += "<text x=\"\(format(left - 8))\" y=\"\(format(y + cellHeight / 2 + 4))\" text-anchor=\"end\">\(HTML.escape(row))</text>"
            for c in columns.indices {
                let value = values[r][c]
                let shade = value.map { String(format: "rgba(74,123,183,%.2f)", 0.08 + 0.92 * min(max($0, 0), 1)) } ?? "#eee"
                svg += "<rect x=\"\(format(left + cellWidth * Double(c)))\" y=\"\(format(y))\" width=\"\(format(cellWidth - 2))\" height=\"\(format(cellHeight - 2))\" fill=\"\(shade)\"/>"
                svg += "<text x=\"\(format(left + cellWidth * (Double(c) + 0.5)))\" y=\"\(format(y + cellHeight / 2 + 4))\" text-anchor=\"middle\">\(HTML.escape(labels[r][c]))</text>"
            }
        }
        return svg + "</svg>"
    }
}
