import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// CPU and memory of other processes (a relay, the upstream), read from /proc the way the
/// relay harness's `client.py` does (`Watch`): CPU is utime+stime of the PID and its
/// descendants over the measured window (100 = one core); RSS is the largest of the
/// samples, summed over the PID and its descendants.
///
/// - Important: Linux only; one task at a time.
struct ProcessWatch {
    private struct Item {
        var name: String
        var pid: Int
        var pids: [Int] = []
        var startTicks = 0
        var maxRSS = 0
    }

    private var items: [Item]
    private let clockTicksPerSecond = Double(sysconf(Int32(_SC_CLK_TCK)))
    private let pageSize = Int(sysconf(Int32(_SC_PAGESIZE)))

    /// - Parameter specs: `NAME=PID` pairs.
    /// - Throws: `BenchError` for a spec that is not `NAME=PID`.
    init(specs: [String]) throws(BenchError) {
        items = []
        for spec in specs {
            let parts = spec.split(separator: "=", maxSplits: 1)
            guard parts.count == 2, let pid = Int(parts[1]), pid > 0 else {
                throw BenchError(.badArgument, "--watch wants NAME=PID, got '\(spec)'")
            }
            items.append(Item(name: String(parts[0]), pid: pid))
        }
    }

    /// Starts the window: the processes' CPU time so far, and a first RSS sample.
    mutating func start() {
        for index in items.indices {
            items[index].pids = Self.descendants(of: items[index].pid)
            items[index].startTicks = cpuTicks(items[index].pids)
            items[index].maxRSS = residentBytes(items[index].pids)
        }
    }

    /// Takes an RSS sample (call about every 0.5 s).
    mutating func sample() {
        for index in items.indices {
            items[index].maxRSS = max(items[index].maxRSS, residentBytes(items[index].pids))
        }
    }

    /// Ends the window of `seconds`: `{NAME: {pid, nprocs, cpu_pct, rss_mb_max, rss_mb_end}}`.
    func stop(seconds: Double) -> BenchJSON {
        .object(items.map { item in
            let pids = Array(Set(Self.descendants(of: item.pid)).union(item.pids)).sorted()
            let ticks = cpuTicks(pids) - item.startTicks
            let rss = residentBytes(pids)
            let cpu = seconds > 0 ? (1000 * Double(ticks) / clockTicksPerSecond / seconds).rounded() / 10 : nil
            return (item.name, .object([
                ("pid", .int(item.pid)), ("nprocs", .int(pids.count)), ("cpu_pct", .number(cpu)),
                ("rss_mb_max", .number(Self.megabytes(max(item.maxRSS, rss)))),
                ("rss_mb_end", .number(Self.megabytes(rss))),
            ]))
        })
    }

    private static func megabytes(_ bytes: Int) -> Double {
        (Double(bytes) / 1_048_576 * 10).rounded() / 10
    }

    /// The PID and all its descendants, through every thread's `children` list.
    static func descendants(of pid: Int) -> [Int] {
        var found: [Int] = []
        var todo = [pid]
        while let next = todo.popLast() {
            found.append(next)
            let threads = (try? FileManager.default.contentsOfDirectory(atPath: "/proc/\(next)/task")) ?? []
            for thread in threads {
                let children = (try? String(contentsOfFile: "/proc/\(next)/task/\(thread)/children", encoding: .utf8)) ?? ""
                todo += children.split(separator: " ").compactMap { Int($0.trimmingCharacters(in: .whitespacesAndNewlines)) }
            }
        }
        return found
    }

    private func cpuTicks(_ pids: [Int]) -> Int {
        pids.reduce(0) { total, pid in
            guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
                let close = stat.lastIndex(of: ")")
            else { return total }
            // Fields after the command name: state is [0], utime [11], stime [12].
            let fields = stat[stat.index(after: close)...].split(separator: " ")
            guard fields.count > 12, let user = Int(fields[11]), let system = Int(fields[12]) else { return total }
            return total + user + system
        }
    }

    private func residentBytes(_ pids: [Int]) -> Int {
        pids.reduce(0) { total, pid in
            guard let statm = try? String(contentsOfFile: "/proc/\(pid)/statm", encoding: .utf8) else { return total }
            let fields = statm.split(separator: " ")
            guard fields.count > 1, let pages = Int(fields[1]) else { return total }
            return total + pages * pageSize
        }
    }
}
