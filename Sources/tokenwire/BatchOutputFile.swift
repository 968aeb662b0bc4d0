import Foundation

/// Where `tokenwire batch` writes its result lines: stdout, or an `--out` file that makes
/// the run resumable.
///
/// An existing `--out` file is read first: the items it already holds are skipped (with
/// `--retry-failed`, only those whose last line there is not an error), and a last line
/// cut short by an interrupted run is removed before new lines are appended. Every line is
/// written (and reaches the kernel) as soon as its item finishes. An item may have several
/// lines (a failure, then a retry's result): its last line is the one that counts.
final class BatchOutputFile {
    /// Indices of the items already in the file, and of those whose last line there is an
    /// error (empty for stdout or a new file).
    let doneIndices: Set<Int>
    let failedIndices: Set<Int>
    private let handle: FileHandle

    /// Results to stdout.
    init() {
        doneIndices = []
        failedIndices = []
        handle = FileHandle.standardOutput
    }

    /// Results appended to `path`, created if missing.
    /// - Throws: `BatchInputError` when the file cannot be read, repaired or opened.
    init(path: String) throws {
        let fileManager = FileManager.default
        if !fileManager.fileExists(atPath: path) {
            guard fileManager.createFile(atPath: path, contents: nil) else {
                throw BatchInputError(message: "cannot create \(path)")
            }
        }
        guard let existing = fileManager.contents(atPath: path) else {
            throw BatchInputError(message: "cannot read \(path)")
        }
        let complete = existing.lastIndex(of: UInt8(ascii: "\n")).map { existing.startIndex...$0 }
        (doneIndices, failedIndices) = Self.indices(in: complete.map { existing[$0] } ?? Data())
        do {
            handle = try FileHandle(forUpdating: URL(fileURLWithPath: path))
            // Drop a partial last line: an earlier run stopped in the middle of writing it.
            let keep = UInt64(complete?.count ?? 0)
            if keep < UInt64(existing.count) { try handle.truncate(atOffset: keep) }
            try handle.seekToEnd()
        } catch {
            throw BatchInputError(message: "cannot open \(path) for appending: \(error.localizedDescription)")
        }
    }

    /// Writes one result line.
    func write(line: String) throws {
        try handle.write(contentsOf: Data((line + "\n").utf8))
    }

    /// The `index` of every line that is a JSON object with one, and of those whose last
    /// line is an error.
    private static func indices(in data: Data) -> (done: Set<Int>, failed: Set<Int>) {
        var done: Set<Int> = []
        var failed: Set<Int> = []
        for line in data.split(separator: UInt8(ascii: "\n")) where !line.isEmpty {
            guard let object = try? JSONSerialization.jsonObject(with: Data(line)) as? [String: Any],
                let index = object["index"] as? Int
            else { continue }
            done.insert(index)
            if object["error"] != nil { failed.insert(index) } else { failed.remove(index) }
        }
        return (done, failed)
    }
}
