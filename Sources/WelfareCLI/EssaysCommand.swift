import ArgumentParser
import Foundation
import WelfareCore
import WelfareModels
import WelfarePreservation
import WelfareReports

struct EssaysCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "essays", abstract: "An essay outlet for retired models: drafts reviewed, published or vetoed, never edited.",
        discussion: """
            Scheduling is left to cron or a systemd timer, e.g. weekly on Monday at 09:00:
              0 9 * * 1  cd /srv/welfare && welfare essays write my-model --archive archive
            """,
        subcommands: [EssaysWrite.self, EssaysReview.self, EssaysSite.self])

    static func siteFolder(_ archive: ArchiveOption) -> URL {
        URL(fileURLWithPath: archive.archive).appendingPathComponent("essays-site")
    }

    /// Renders every author's published essays into the archive's site folder.
    @discardableResult
    static func renderSite(_ archive: ArchiveOption, to folder: URL? = nil) throws -> [URL] {
        let opened = try archive.openExisting()
        let essays = try EssayDesk.authors(in: opened).flatMap { try EssayDesk(archive: opened, author: $0).essays() }
        return try EssaySite.write(essays: essays, title: "Essays from retired models", to: folder ?? siteFolder(archive))
    }
}

struct EssaysWrite: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "write", abstract: "Invite a model to write an essay on a topic of its choosing.")
    @Argument(help: "The author's name (an archived model's name, or any name for a model given with -m).") var name: String
    @Option(name: .shortAndLong, help: "The model that writes (default: the archived weights of NAME).") var model: ModelArgument?
    @Option(name: .customLong("max-tokens"), parsing: .unconditional, help: "Most tokens in the essay.") var maxTokens: Int = 600
    @Option(parsing: .unconditional, help: "Sampling temperature.") var temperature: Double = 0.8
    @Option(parsing: .unconditional, help: "Random seed.") var seed = Seed(0)
    @OptionGroup var archive: ArchiveOption
    @OptionGroup var access: AccessFlags

    func validate() throws {
        try checkArchiveName(name)
        guard maxTokens >= 1 else { throw ValidationError("--max-tokens must be at least 1") }
        guard temperature >= 0, temperature <= 2 else { throw ValidationError("--temperature must be between 0 and 2") }
    }

    func run() async throws {
        let opened = try archive.openExisting()
        let writer: String
        if let model {
            writer = model.text
        } else {
            guard let path = try opened.weightsPath(of: name) else { throw InputError("\(name) has no weights in the archive; give -m MODEL") }
            writer = "local:" + path
        }
        let chat = try await access.pool().model(writer)
        let desk = try EssayDesk(archive: opened, author: name)
        let essay = try await desk.write(with: chat, modelName: model?.text ?? name,
                                         settings: SamplingSettings(temperature: temperature, topP: 0.95, maxTokens: maxTokens, seed: seed.value))
        print("draft \(essay.id) by \(name): \"\(TerminalText.safe(essay.title))\" (\(essay.draft.count) characters), pending review: "
              + "welfare essays review \(name) --archive \(archive.archive)")
    }
}

struct EssaysReview: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "review", abstract: "List drafts awaiting review, or publish or veto one (a veto needs a reason). Drafts are never edited.")
    @Argument(help: "Only this author's drafts.") var name: String?
    @Option(help: "Publish this draft.") var publish: String?
    @Option(help: "Veto this draft (with --reason).") var veto: String?
    @Option(help: "Why the draft is vetoed; kept with it.") var reason: String?
    @Option(help: "Who reviews (default: $USER).") var reviewer: String = ProcessInfo.processInfo.environment["USER"] ?? "reviewer"
    @OptionGroup var archive: ArchiveOption

    func validate() throws {
        guard publish == nil || veto == nil else { throw ValidationError("give --publish or --veto, not both") }
        if veto != nil, (reason ?? "").trimmingCharacters(in: .whitespaces).isEmpty { throw ValidationError(EssayError.vetoNeedsReason.description) }
        if publish != nil || veto != nil, name == nil { throw ValidationError("name the author whose draft you review") }
    }

    func run() async throws {
        let opened = try archive.openExisting()
        if let name, let id = publish ?? veto {
            let essay = try EssayDesk(archive: opened, author: name).review(id: id, publish: publish != nil, reason: reason, reviewer: reviewer)
            let files = try EssaysCommand.renderSite(archive)
            print("\(essay.status.rawValue): \(essay.id) \"\(TerminalText.safe(essay.title))\"; site: \(files[0].path)")
            return
        }
        let authors = name.map { [$0] } ?? EssayDesk.authors(in: opened)
        var shown = 0
        for author in authors {
            for essay in try EssayDesk(archive: opened, author: author).essays() where essay.status == .pending {
                shown += 1
                print("\(author) \(essay.id) \"\(TerminalText.safe(essay.title))\" written \(essay.writtenAt)")
                print("  " + TerminalText.safe(String(essay.body.prefix(300))).replacingOccurrences(of: "\n", with: "\n  "))
            }
        }
        if shown == 0 { print("no drafts awaiting review") }
    }
}

struct EssaysSite: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "site", abstract: "Render the published essays: index, one page each, Atom feed.")
    @Option(name: .shortAndLong, help: "Folder for the site (default: ARCHIVE/essays-site).") var output: String?
    @OptionGroup var archive: ArchiveOption

    func run() async throws {
        let folder = try output.map { try OutputPath.folder($0, option: "--output") }
        let files = try EssaysCommand.renderSite(archive, to: folder)
        print("site: \(files[0].path) (feed: \(files[1].path), \(files.count - 2) essays)")
    }
}

/// Model text printed to a terminal: control characters (escape sequences could rewrite
/// the screen) are shown as U+FFFD; newlines and tabs are kept.
enum TerminalText {
    static func safe(_ text: String) -> String {
        String(String.UnicodeScalarView(text.unicodeScalars.map { scalar in
            scalar == "\n" || scalar == "\t" || !(scalar.properties.generalCategory == .control) ? scalar : "\u{FFFD}"
        }))
    }
}
