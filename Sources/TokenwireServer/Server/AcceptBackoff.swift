import Logging
import NIOCore
import NIOPosix

/// What the listening socket does when `accept` fails for want of resources (EMFILE,
/// ENFILE, ENOBUFS, ENOMEM): stop accepting for a while instead of retrying at once, which
/// spins a core while the process is out of file descriptors. `FileDescriptorReserve`
/// explains why NIO's handler needs the reserve to take hold.
enum AcceptBackoff {
    /// How long accepting pauses after such a failure.
    static let pause: TimeAmount = .milliseconds(500)

    /// NIO's `AcceptBackoffHandler`, logging once per episode (the first failure after a
    /// successful accept, or after a quiet minute).
    static func makeHandler(reserve: FileDescriptorReserve, logger: Logger) -> AcceptBackoffHandler {
        let episode = Episode()
        return AcceptBackoffHandler(shouldForwardIOErrorCaught: false) { error in
            guard [EMFILE, ENFILE, ENOBUFS, ENOMEM].contains(error.errnoCode) else { return nil }
            if error.errnoCode == EMFILE || error.errnoCode == ENFILE {
                reserve.refill()
                reserve.release()
            }
            let now = NIODeadline.now()
            if let last = episode.lastFailure, now - last < .minutes(1) {
                episode.lastFailure = now
                return pause
            }
            episode.lastFailure = now
            logger.error(
                "cannot accept connections: \(error); pausing accepts, retrying every \(pause.nanoseconds / 1_000_000) ms and refusing one waiting connection each time. Raise the limit (ulimit -n) or lower --max-connections")
            return pause
        }
    }

    /// The server channel's loop owns it (the backoff provider runs there).
    private final class Episode {
        var lastFailure: NIODeadline?
    }
}
