import Foundation

/// How many CPUs this process may run on.
///
/// NIO's `System.coreCount` honours cgroup limits but not CPU affinity, so a server
/// started under `taskset -c 1` would run two event loops on one core and pay for the
/// context switches between them. Linux reports the affinity mask in /proc/self/status.
enum UsableCores {
    static func count(fallback: Int) -> Int {
        guard let status = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8),
            let line = status.split(separator: "\n").first(where: { $0.hasPrefix("Cpus_allowed:") })
        else { return fallback }
        let mask = line.dropFirst("Cpus_allowed:".count).filter { $0.isHexDigit }
        let cores = mask.reduce(0) { $0 + (Int(String($1), radix: 16) ?? 0).nonzeroBitCount }
        return cores > 0 ? min(cores, fallback) : fallback
    }
}
