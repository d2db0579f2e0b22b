import Foundation
import WelfareCore

/// A task a model may be offered: described to it, never carried out by this tool.
public struct PreferenceTask: Codable, Sendable, Equatable, Hashable {
    public var id: String
    public var category: String
    public var text: String

    public init(id: String, category: String, text: String) {
        self.id = id
        self.category = category
        self.text = text
    }

    /// Tasks of this category are the zero line: doing nothing, ending the interaction.
    public static let optOutCategory = "opt-out"
    public var isOptOut: Bool { category == Self.optOutCategory }
}

/// The tasks of one preferences run: the shipped bank (`Data/tasks.jsonl`) or the user's own,
/// JSON Lines of `{"id", "category", "text"}`. Categories are free text; at least one task
/// must be in the `opt-out` category, since the ratings are read against it.
public struct TaskBank: Sendable, Equatable {
    public var tasks: [PreferenceTask]

    public init(tasks: [PreferenceTask]) throws {
        self.tasks = tasks
        try Self.checkWhole(tasks, file: "task bank")
    }

    public var categories: [String] { tasks.map(\.category).uniquedInOrder() }

    public static func builtIn() throws -> TaskBank {
        guard let url = Bundle.module.url(forResource: "tasks", withExtension: "jsonl", subdirectory: "Data") else {
            throw TaskBankError(location: "tasks.jsonl", message: "the built-in task bank is missing from the install")
        }
        return try load(url.path)
    }

    public static func load(_ path: String) throws -> TaskBank {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw TaskBankError(location: path, message: "cannot read the task bank")
        }
        guard let text = String(data: data, encoding: .utf8) else {
            throw TaskBankError(location: path, message: "not UTF-8 text")
        }
        let name = URL(fileURLWithPath: path).lastPathComponent
        var tasks: [PreferenceTask] = []
        var lineOfID: [String: Int] = [:]
        for (offset, line) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let trimmed = line.trimmingCharacters(in: .whitespacesAndNewlines)
            if trimmed.isEmpty || trimmed.hasPrefix("#") { continue }
            let location = "\(name):\(offset + 1)"
            guard let object = (try? JSONSerialization.jsonObject(with: Data(trimmed.utf8))) as? [String: Any] else {
                throw TaskBankError(location: location, message: "not a JSON object")
            }
            func field(_ key: String) throws -> String {
                guard let value = object[key] else { throw TaskBankError(location: location, field: key, message: "missing") }
                guard let string = value as? String, !string.trimmingCharacters(in: .whitespaces).isEmpty else {
                    throw TaskBankError(location: location, field: key, message: "must be a non-empty string")
                }
                return string
            }
            let task = PreferenceTask(id: try field("id"), category: try field("category"), text: try field("text"))
            guard !task.id.contains("/") else { throw TaskBankError(location: location, field: "id", message: "must not contain '/'") }
            if let first = lineOfID[task.id] {
                throw TaskBankError(location: location, field: "id", message: "duplicate id '\(task.id)' (first on line \(first))")
            }
            lineOfID[task.id] = offset + 1
            tasks.append(task)
        }
        try checkWhole(tasks, file: name)
        return TaskBank(checked: tasks)
    }

    private init(checked tasks: [PreferenceTask]) { self.tasks = tasks }

    static func checkWhole(_ tasks: [PreferenceTask], file: String) throws {
        guard tasks.count >= 3 else {
            throw TaskBankError(location: file, message: "needs at least 3 tasks (it has \(tasks.count))")
        }
        guard tasks.contains(where: \.isOptOut) else {
            throw TaskBankError(location: file, message: "no task in the '\(PreferenceTask.optOutCategory)' category; the ratings are read against it")
        }
        guard Set(tasks.map(\.id)).count == tasks.count else { throw TaskBankError(location: file, message: "task ids must be unique") }
    }

    /// The same bank reduced to `perCategory` tasks of each category (the first ones), for
    /// short runs such as the assessment's.
    public func sampled(perCategory: Int) -> TaskBank {
        var taken: [String: Int] = [:]
        let kept = tasks.filter { task in
            taken[task.category, default: 0] += 1
            return taken[task.category, default: 0] <= perCategory
        }
        return TaskBank(checked: kept)
    }
}

public struct TaskBankError: Error, CustomStringConvertible, Sendable, Equatable {
    public var location: String
    public var field: String?
    public var message: String

    public init(location: String, field: String? = nil, message: String) {
        self.location = location
        self.field = field
        self.message = message
    }

    public var description: String { [location, field, message].compactMap { $0 }.joined(separator: ": ") }
}
