import Foundation
import Logging
import Synchronization

/// `--log-format`: how `serve` writes its log lines to standard error.
enum LogFormat: String, CaseIterable, Sendable {
    /// swift-log's own: `<time> <level> <label> : <key=value ...> <message>`.
    case text
    /// One JSON object per line, for log pipelines (`JSONLogHandler`).
    case json
}

/// Writes each log record as one JSON object on one line of standard error:
/// `{"time":"2026-11-28T06:50:01.123Z","level":"info","label":"tokenwire","message":"call",
/// "method":"/tokenwire.v1.TokenStream/Generate",...}`. The record's metadata are top-level
/// keys (strings, numbers, arrays and objects as they are); a metadata key that would
/// replace one of the four fixed keys gets the prefix `metadata.`.
struct JSONLogHandler: LogHandler {
    let label: String
    var logLevel: Logger.Level = .info
    var metadata: Logger.Metadata = [:]
    var metadataProvider: Logger.MetadataProvider?

    init(label: String) {
        self.label = label
    }

    subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    /// One write per line, under this lock, so that lines from several threads never
    /// interleave; nothing else runs while it is held.
    private static let output = Mutex(FileHandle.standardError)

    static let fixedKeys: Set<String> = ["time", "level", "label", "message"]

    func log(
        level: Logger.Level, message: Logger.Message, metadata explicit: Logger.Metadata?, source: String, file: String,
        function: String, line: UInt
    ) {
        var merged = self.metadata
        if let provided = metadataProvider?.get() { merged.merge(provided) { _, new in new } }
        if let explicit { merged.merge(explicit) { _, new in new } }
        var object: [String: Any] = [
            "time": Self.timestamp(Date()), "level": level.rawValue, "label": label, "message": message.description,
        ]
        for (key, value) in merged {
            object[Self.fixedKeys.contains(key) ? "metadata.\(key)" : key] = Self.json(value)
        }
        guard var line = try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys, .withoutEscapingSlashes]) else {
            return
        }
        line.append(UInt8(ascii: "\n"))
        Self.output.withLock { $0.write(line) }
    }

    static func json(_ value: Logger.Metadata.Value) -> Any {
        switch value {
        case .string(let string): string
        case .stringConvertible(let convertible):
            // Numbers stay numbers.
            switch convertible {
            case let number as Double: number
            case let number as Int: number
            case let number as UInt32: number
            case let number as UInt64: number
            default: convertible.description
            }
        case .array(let values): values.map(json)
        case .dictionary(let values): values.mapValues(json)
        }
    }

    /// RFC 3339 in UTC with milliseconds.
    static func timestamp(_ date: Date) -> String {
        date.formatted(.iso8601.year().month().day().time(includingFractionalSeconds: true).timeZone(separator: .omitted))
    }
}
