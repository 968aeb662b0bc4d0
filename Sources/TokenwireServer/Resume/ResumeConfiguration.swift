public import TokenwireRedis

/// Resumable streams (docs/ARCHITECTURE.md, "Resumable streams"): how long a stream waits
/// for its reader to come back, how long a finished one stays resumable, and how much of
/// each is kept.
public struct ResumeConfiguration: Sendable {
    /// Bytes of frames kept per stream (`--resume-buffer`); past it the oldest go first
    /// while a reader is attached, and a detached producer waits. 0 turns resumable
    /// streams off: StreamStart then carries no resume token.
    public var maxStreamBytes = 1024 * 1024
    /// Bytes of frames kept over all streams (`--resume-memory`); past it the oldest
    /// frames of the oldest streams go first.
    public var maxTotalBytes = 256 * 1024 * 1024
    /// How long a stream whose client's connection was lost goes on producing into its log
    /// for a resume to pick up (`--detach-grace`); nobody resumed in that time: its
    /// upstream request is cancelled. 0: a lost connection cancels at once.
    public var detachGrace: Duration = .seconds(30)
    /// How long a finished stream stays resumable (`--resume-retention`).
    public var retention: Duration = .seconds(300)
    /// Where every stream's frames are mirrored so a resume can reach any replica
    /// (`--resume-store redis://HOST:PORT[/DB]`); nil: resumes reach this replica only.
    public var store: RedisAddress?

    public init() {}

    /// Whether Generate streams are resumable at all.
    public var isEnabled: Bool { maxStreamBytes > 0 }
}
