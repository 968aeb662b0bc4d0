import ArgumentParser
import TokenwireRedis
import TokenwireServer

/// `tokenwire serve` options of resumable streams (docs/ARCHITECTURE.md, "Resumable
/// streams"): how much of each stream is kept, and for how long.
struct ResumeOptions: ParsableArguments {
    @Option(help: "Bytes of frames kept per Generate stream for resumes; past it the oldest go first (0: streams are not resumable).")
    var resumeBuffer = ResumeConfiguration().maxStreamBytes

    @Option(help: "Bytes of frames kept for resumes over all streams; past it the oldest streams' oldest frames go first.")
    var resumeMemory = ResumeConfiguration().maxTotalBytes

    @Option(help: "Seconds a stream whose client's connection was lost goes on for a resume to pick it up (0: it is cancelled at once).")
    var detachGrace: Double = 30

    @Option(help: "Seconds a finished stream stays resumable.")
    var resumeRetention: Double = 300

    @Option(help: "Redis to mirror every stream to, so a resume may reach any replica sharing it: redis://HOST:PORT[/DB].")
    var resumeStore: String?

    func apply(to configuration: inout ServerConfiguration) throws {
        guard resumeBuffer >= 0, resumeMemory >= resumeBuffer else {
            throw ValidationError("--resume-memory must be at least --resume-buffer (and that 0 or more)")
        }
        guard detachGrace >= 0, resumeRetention >= 0 else {
            throw ValidationError("--detach-grace and --resume-retention must be 0 or more")
        }
        configuration.resume.maxStreamBytes = resumeBuffer
        configuration.resume.maxTotalBytes = resumeMemory
        configuration.resume.detachGrace = .milliseconds(Int(detachGrace * 1000))
        configuration.resume.retention = .milliseconds(Int(resumeRetention * 1000))
        if let resumeStore {
            do {
                configuration.resume.store = try RedisAddress(parsing: resumeStore)
            } catch {
                throw ValidationError("--resume-store: \(error)")
            }
        }
    }
}
