import Foundation

/// Output paths are checked, and missing folders created, before any model work, so a typo
/// costs a second instead of a finished run's results.
enum OutputPath {
    /// A folder that results will be written into.
    @discardableResult
    static func folder(_ path: String, option: String) throws -> URL {
        let url = URL(fileURLWithPath: path)
        var isFolder: ObjCBool = false
        if FileManager.default.fileExists(atPath: url.path, isDirectory: &isFolder), !isFolder.boolValue {
            throw InputError("\(option) \(path) is a file; give a folder")
        }
        try create(url, option: option)
        try probeWritable(url, option: option)
        return url
    }

    /// A file to be written (or the prefix of several: PATH.json, PATH.npy...): its folder is
    /// created and must be writable, and the path itself must not be a folder.
    @discardableResult
    static func file(_ path: String, option: String) throws -> URL {
        let url = URL(fileURLWithPath: path)
        var isFolder: ObjCBool = false
        if FileManager.default.fileExists(atPath: url.path, isDirectory: &isFolder), isFolder.boolValue {
            throw InputError("\(option) \(path) is a folder; give a file name")
        }
        let parent = url.deletingLastPathComponent()
        try create(parent, option: option)
        try probeWritable(parent, option: option)
        return url
    }

    private static func create(_ folder: URL, option: String) throws {
        do {
            try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        } catch {
            throw InputError("\(option): cannot create the folder \(folder.path): \(reason(error))")
        }
    }

    /// Permissions alone do not tell (root ignores them; a read-only mount does not), so
    /// write and remove a small file.
    private static func probeWritable(_ folder: URL, option: String) throws {
        let probe = folder.appendingPathComponent(".welfare-write-check-\(getpid())")
        guard FileManager.default.createFile(atPath: probe.path, contents: Data()) else {
            throw InputError("\(option): cannot write in \(folder.path): \(String(cString: strerror(errno)))")
        }
        try? FileManager.default.removeItem(at: probe)
    }

    private static func reason(_ error: Error) -> String {
        (FileError.readable(error) as? FileError)?.description ?? String(describing: error)
    }
}
