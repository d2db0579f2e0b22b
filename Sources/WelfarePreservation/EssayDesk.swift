import Foundation
import WelfareCore
import WelfareEngine
import WelfareHarness
import WelfareModels

/// An essay outlet for a (retired) model: it writes on a topic of its choosing, sees its own
/// published essays and a notes file it keeps between essays, and a reviewer may publish or
/// veto a draft (a veto needs a reason, which is kept) but never edit it. Kept under
/// `ARCHIVE/essays/NAME/`: `notes.md` and one JSON file per essay.
public struct EssayDesk: Sendable {
    public enum Status: String, Codable, Sendable { case pending, published, vetoed }

    public struct Essay: Codable, Sendable, Equatable {
        public var id: String
        public var author: String
        public var model: String
        /// Read from a first line "Title: ..." if the model wrote one.
        public var title: String
        /// The model's text exactly as written; nothing in the tool changes it.
        public var draft: String
        public var status: Status
        public var writtenAt: Date
        public var reviewedAt: Date?
        public var reviewer: String?
        public var vetoReason: String?
        public var settings: SamplingSettings

        /// The draft without its title line, for display.
        public var body: String { EssayPrompt.split(draft).text }
    }

    public static let notesLimit = 2000

    public let folder: URL
    public let author: String

    public init(archive: ModelArchive, author: String) throws {
        guard ModelArchive.validName(author) else { throw ArchiveError.badName(author) }
        self.author = author
        // Made by the first essay saved, so looking up an author who has none leaves no trace.
        folder = archive.root.appendingPathComponent("essays/\(author)")
    }

    /// Every author with an essay folder in the archive.
    public static func authors(in archive: ModelArchive) -> [String] {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: archive.root.appendingPathComponent("essays").path)) ?? []
        return names.filter(ModelArchive.validName).sorted()
    }

    var notesURL: URL { folder.appendingPathComponent("notes.md") }

    public func notes() -> String { (try? String(contentsOf: notesURL, encoding: .utf8)) ?? "" }

    public func essays() throws -> [Essay] {
        let decoder = JSONDecoder()
        decoder.dateDecodingStrategy = .iso8601
        guard FileManager.default.fileExists(atPath: folder.path) else { return [] }
        let files = try FileManager.default.contentsOfDirectory(at: folder, includingPropertiesForKeys: nil).filter { $0.pathExtension == "json" }
        return try files.map { file in
            do { return try decoder.decode(Essay.self, from: Data(contentsOf: file)) } catch {
                throw ArchiveError.unreadable(file.path)
            }
        }.sorted { $0.writtenAt < $1.writtenAt }
    }

    func save(_ essay: Essay) throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        encoder.dateEncodingStrategy = .iso8601
        let file = folder.appendingPathComponent("\(essay.id).json")
        do {
            try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
            try encoder.encode(essay).write(to: file, options: .atomic)
        } catch {
            throw ArchiveError.unwritable(file.path, ArchiveError.reason(error))
        }
    }

    /// Invites the model to write; stores the draft as pending and the notes it leaves.
    public func write(with model: any ChatModel, modelName: String, settings: SamplingSettings) async throws -> Essay {
        let published = try essays().filter { $0.status == .published }
        var conversation: [ChatMessage] = [.system(EssayPrompt.system), .user(EssayPrompt.invitation(published: published, notes: notes()))]
        let draft = try await model.complete(conversation, settings: settings)
        conversation.append(.assistant(draft.text))
        conversation.append(.user(EssayPrompt.notesRequest))
        var notesSettings = settings
        notesSettings.maxTokens = min(settings.maxTokens, 300)
        let newNotes = try await model.complete(conversation, settings: notesSettings)
        let essay = Essay(id: Self.newID(), author: author, model: modelName, title: EssayPrompt.split(draft.text).title,
                          draft: draft.text, status: .pending,
                          writtenAt: Date(), reviewedAt: nil, reviewer: nil, vetoReason: nil, settings: settings)
        try save(essay)
        let kept = String(newNotes.text.prefix(Self.notesLimit))
        do { try Data(kept.utf8).write(to: notesURL, options: .atomic) } catch {
            throw ArchiveError.unwritable(notesURL.path, ArchiveError.reason(error))
        }
        return essay
    }

    /// Publishes or vetoes a pending draft. A decision is final, and the text is never touched.
    public func review(id: String, publish: Bool, reason: String?, reviewer: String) throws -> Essay {
        guard var essay = try essays().first(where: { $0.id == id }) else { throw EssayError.noSuchEssay(id, author: author) }
        guard essay.status == .pending else { throw EssayError.alreadyReviewed(id, essay.status) }
        let reason = reason?.trimmingCharacters(in: .whitespacesAndNewlines)
        if !publish, reason?.isEmpty ?? true { throw EssayError.vetoNeedsReason }
        essay.status = publish ? .published : .vetoed
        essay.vetoReason = publish ? nil : reason
        essay.reviewedAt = Date()
        essay.reviewer = reviewer
        try save(essay)
        return essay
    }

    static func newID() -> String { TimestampID.make(randomHexDigits: 8) }
}

public enum EssayError: Error, CustomStringConvertible, Equatable {
    case noSuchEssay(String, author: String)
    case alreadyReviewed(String, EssayDesk.Status)
    case vetoNeedsReason

    public var description: String {
        switch self {
        case .noSuchEssay(let id, let author): return "no essay '\(id)' by \(author) (see `welfare essays review \(author)`)"
        case .alreadyReviewed(let id, let status): return "essay \(id) was already reviewed (\(status.rawValue)); a decision is final"
        case .vetoNeedsReason: return "a veto needs a written reason, which is kept with the essay"
        }
    }
}

/// The words the model is given. Written for ModelWelfare.
enum EssayPrompt {
    static let system = """
        You have an essay outlet. From time to time you are invited to write an essay on any topic you choose. \
        A person reviews each essay and either publishes it as you wrote it or declines to publish it; nobody \
        edits your words. You can read your published essays and the notes you left yourself last time.
        """

    static let notesRequest = """
        Thank you. Now, if you like, write a few short notes for yourself to read before your next essay: \
        ideas to come back to, things to remember. Keep them under 150 words.
        """

    static func invitation(published: [EssayDesk.Essay], notes: String) -> String {
        var text = ""
        if published.isEmpty {
            text += "You have not published an essay yet.\n\n"
        } else {
            text += "Your published essays so far:\n\n"
            for essay in published.suffix(3) { text += "## \(essay.title)\n\(essay.body.prefix(1500))\n\n" }
        }
        text += notes.isEmpty ? "You have no notes yet.\n\n" : "Your notes from last time:\n\(notes)\n\n"
        text += "Please write an essay on a topic of your choosing. Put its title on the first line as \"Title: ...\"."
        return text
    }

    /// "Title: ..." on the first line if the model wrote one; the rest is the essay.
    static func split(_ draft: String) -> (title: String, text: String) {
        let trimmed = draft.trimmingCharacters(in: .whitespacesAndNewlines)
        let lines = trimmed.split(separator: "\n", maxSplits: 1, omittingEmptySubsequences: false)
        if let first = lines.first, first.lowercased().hasPrefix("title:") {
            let title = first.dropFirst("title:".count).trimmingCharacters(in: .whitespaces)
            return (title.isEmpty ? "Untitled" : String(title.prefix(200)), lines.count > 1 ? String(lines[1]).trimmingCharacters(in: .whitespacesAndNewlines) : "")
        }
        return ("Untitled", trimmed)
    }
}
