/// The deadline of the call being served, from `grpc-timeout`; nil when the client set none.
public enum CallDeadline {
    @TaskLocal public static var current: ContinuousClock.Instant?
}
