import NIOCore

/// Closes the listening socket without resetting the connections the kernel has already
/// completed for it.
///
/// Closing a listener resets every connection still in its accept queue: the client (say,
/// nginx, which opened a connection and wrote a call on it) sees "connection reset by peer"
/// for a call it cannot retry. A connection accepted but not yet set up on its own loop
/// (the bootstrap does that in a task there) is lost the same way. So the close waits for
/// the next accept pass, which takes the whole queue (the listener accepts up to its
/// backlog per pass), or `idleWait` when nothing arrives; then for the connections it took
/// (and any taken meanwhile) to be set up; then closes. Connections taken this way join the
/// drain: they get the two-phase GOAWAY, whose first frame still admits the call already
/// written on them. What is left is a connection completed in the moment between the last
/// accept and the close.
///
/// - Important: Event-loop only (the listener's).
final class ListenerCloser: ChannelInboundHandler {
    typealias InboundIn = any Channel
    typealias InboundOut = any Channel

    /// The longest the close waits for an accept pass when nothing arrives.
    static let idleWait: TimeAmount = .milliseconds(20)

    private enum State {
        case listening
        /// Waiting for an accept pass (or `idleWait`).
        case waitingForAccept(EventLoopPromise<Void>)
        /// Waiting for the connections accepted since the close was asked for to be set up.
        case settingUp(EventLoopPromise<Void>)
        case closed(EventLoopFuture<Void>)
    }

    private var state = State.listening
    private var context: ChannelHandlerContext?
    /// Connections accepted since the close was asked for, not yet known to be set up.
    private var accepted: [any Channel] = []

    func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        self.context = nil
    }

    /// Closes the listener as described above; `promise` completes once it is closed.
    func close(promise: EventLoopPromise<Void>) {
        switch state {
        case .listening:
            guard let context else { return promise.succeed() }
            state = .waitingForAccept(promise)
            let loopBound = NIOLoopBound(self, eventLoop: context.eventLoop)
            context.eventLoop.scheduleTask(in: Self.idleWait) { loopBound.value.settle() }
        case .waitingForAccept(let closing), .settingUp(let closing):
            closing.futureResult.cascade(to: promise)
        case .closed(let closed):
            closed.cascade(to: promise)
        }
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch state {
        case .waitingForAccept, .settingUp: accepted.append(unwrapInboundIn(data))
        case .listening, .closed: break
        }
        context.fireChannelRead(data)
    }

    func channelReadComplete(context: ChannelHandlerContext) {
        context.fireChannelReadComplete()
        settle()
    }

    /// After an accept pass (or `idleWait`): waits for the connections taken to be set up,
    /// then closes, or waits again if more were taken meanwhile.
    private func settle() {
        guard case .waitingForAccept(let promise) = state, let context else { return }
        state = .settingUp(promise)
        waitForSetUp(context: context, promise: promise)
    }

    private func waitForSetUp(context: ChannelHandlerContext, promise: EventLoopPromise<Void>) {
        guard !accepted.isEmpty else {
            let closed = context.channel.closeFuture
            state = .closed(closed)
            closed.cascade(to: promise)
            context.close(promise: nil)
            return
        }
        // The bootstrap's set-up task for each is queued on its loop before these.
        let setUp = accepted.map { $0.eventLoop.submit {} }
        accepted = []
        let loopBound = NIOLoopBound(self, eventLoop: context.eventLoop)
        EventLoopFuture.andAllComplete(setUp, on: context.eventLoop).whenComplete { _ in
            guard let context = loopBound.value.context else { return promise.succeed() }
            loopBound.value.waitForSetUp(context: context, promise: promise)
        }
    }
}
