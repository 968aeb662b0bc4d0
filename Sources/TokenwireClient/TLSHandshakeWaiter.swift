import NIOCore
import NIOTLS
import NIOSSL

/// Completes `handshake` when the connection's TLS handshake ends, so `connect` fails with
/// the handshake's error (an untrusted certificate, a refused client certificate) instead
/// of a first call finding the connection closed.
///
/// - Important: Event-loop only.
final class TLSHandshakeWaiter: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = Any

    let handshake: EventLoopPromise<Void>
    private var done = false

    init(eventLoop: any EventLoop) {
        self.handshake = eventLoop.makePromise()
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if let event = event as? TLSUserEvent, case .handshakeCompleted = event, !done {
            done = true
            handshake.succeed()
        }
        context.fireUserInboundEventTriggered(event)
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        fail(error)
        context.fireErrorCaught(error)
    }

    func channelInactive(context: ChannelHandlerContext) {
        fail(ChannelError.eof)
        context.fireChannelInactive()
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        fail(ChannelError.ioOnClosedChannel)
    }

    private func fail(_ error: any Error) {
        guard !done else { return }
        done = true
        handshake.fail(error)
    }
}

/// A connection's TLS handshake failed (not retried: the next attempt would meet the same
/// certificates).
struct TLSHandshakeFailed: Error {
    var error: any Error
}
