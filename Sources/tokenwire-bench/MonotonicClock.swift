#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Raw clock readings in nanoseconds.
///
/// `now()` reads `CLOCK_MONOTONIC`, the clock Python's `time.monotonic_ns()` reads on Linux, so
/// stamps written by the relay harness's fake upstream compare directly with our readings.
enum MonotonicClock {
    /// `CLOCK_MONOTONIC`, in nanoseconds.
    static func now() -> Int64 {
        read(CLOCK_MONOTONIC)
    }

    /// CPU time this process has used (all threads), in nanoseconds.
    static func processCPUTime() -> Int64 {
        read(CLOCK_PROCESS_CPUTIME_ID)
    }

    private static func read(_ clock: clockid_t) -> Int64 {
        var time = timespec()
        clock_gettime(clock, &time)
        return Int64(time.tv_sec) * 1_000_000_000 + Int64(time.tv_nsec)
    }
}
