internal import CNGHTTP2
import NIOCore

/// What an `NGHTTP2Session` reports while it parses input. Called on the event loop,
/// from inside `NGHTTP2Session.receive`, so implementations must not call `receive` or
/// `produceOutput` again (they may submit frames: nghttp2 only queues them).
protocol NGHTTP2SessionDelegate: AnyObject {
    func sessionReceivedHeaders(streamID: HTTP2StreamID, headers: [HTTP2Header], endStream: Bool)
    /// A HEADERS block (with its CONTINUATIONs) decoded to more than SETTINGS_MAX_HEADER_LIST_SIZE:
    /// its fields were dropped as they arrived.
    func sessionRefusedHeaders(streamID: HTTP2StreamID, _ refusal: HTTP2HeaderListTooLarge, endStream: Bool)
    /// The peer's SETTINGS arrived (not an ACK): its connection preface is complete.
    func sessionReceivedSettings()
    func sessionReceivedData(streamID: HTTP2StreamID, data: ByteBuffer)
    func sessionReceivedEndStream(streamID: HTTP2StreamID)
    func sessionClosedStream(streamID: HTTP2StreamID, errorCode: HTTP2ErrorCode)
    func sessionReceivedPing(ack: Bool, payload: UInt64)
    func sessionReceivedGoAway(lastStreamID: HTTP2StreamID, errorCode: HTTP2ErrorCode)
    func outboundStream(for streamID: HTTP2StreamID) -> HTTP2OutboundStream?
}

/// A fatal nghttp2 error: the connection cannot go on.
struct NGHTTP2Error: Error, CustomStringConvertible {
    let code: Int
    let operation: String

    var description: String {
        "\(operation) failed: \(String(cString: nghttp2_strerror(Int32(truncatingIfNeeded: code)))) (\(code))"
    }
}

/// The one owner of an `nghttp2_session`: a protocol engine that does no I/O. Bytes go in
/// through `receive`, bytes come out of `produceOutput`, and everything nghttp2 reports
/// arrives at the delegate. Not thread-safe: the connection's event loop owns it.
final class NGHTTP2Session {
    enum Role { case server, client }

    private var session: OpaquePointer?
    weak var delegate: (any NGHTTP2SessionDelegate)?
    private var headerBlocks: [HTTP2StreamID: HeaderBlock] = [:]
    /// SETTINGS_MAX_HEADER_LIST_SIZE we advertised, enforced on every block we decode.
    private let maxHeaderListSize: Int
    private let allocator = ByteBufferAllocator()
    /// Guards against calling into nghttp2 from inside its own callbacks.
    private(set) var isInsideCallback = false

    /// The fields of a HEADERS block still arriving, and its decoded size (RFC 9113 §6.5.2:
    /// name + value + 32 per field).
    private struct HeaderBlock {
        var fields: [HTTP2Header] = []
        var decodedSize = 0
        /// Past the limit: fields are counted, no longer kept.
        var isOversized = false
    }

    init(role: Role, configuration: HTTP2Configuration) {
        maxHeaderListSize = Int(configuration.maxHeaderListSize)
        var callbacks: OpaquePointer?
        precondition(nghttp2_session_callbacks_new(&callbacks) == 0, "out of memory")
        defer { nghttp2_session_callbacks_del(callbacks) }
        nghttp2_session_callbacks_set_on_begin_headers_callback(callbacks, onBeginHeaders)
        nghttp2_session_callbacks_set_on_header_callback(callbacks, onHeader)
        nghttp2_session_callbacks_set_on_frame_recv_callback(callbacks, onFrameReceived)
        nghttp2_session_callbacks_set_on_data_chunk_recv_callback(callbacks, onDataChunk)
        nghttp2_session_callbacks_set_on_stream_close_callback(callbacks, onStreamClose)
        nghttp2_session_callbacks_set_on_frame_not_send_callback(callbacks, onFrameNotSent)

        var option: OpaquePointer?
        precondition(nghttp2_option_new(&option) == 0, "out of memory")
        defer { nghttp2_option_del(option) }
        nghttp2_option_set_no_auto_window_update(option, configuration.manualWindowUpdates ? 1 : 0)
        nghttp2_option_set_max_send_header_block_length(option, 64 * 1024)

        let userData = Unmanaged.passUnretained(self).toOpaque()
        let rc: Int32
        switch role {
        case .server: rc = nghttp2_session_server_new2(&session, callbacks, userData, option)
        case .client: rc = nghttp2_session_client_new2(&session, callbacks, userData, option)
        }
        precondition(rc == 0, "nghttp2_session_new failed: \(rc)")
        submitSettings(configuration)
    }

    deinit {
        nghttp2_session_del(session)
    }

    private func submitSettings(_ configuration: HTTP2Configuration) {
        var entries = [
            nghttp2_settings_entry(
                settings_id: Int32(NGHTTP2_SETTINGS_MAX_CONCURRENT_STREAMS.rawValue),
                value: configuration.maxConcurrentStreams),
            nghttp2_settings_entry(
                settings_id: Int32(NGHTTP2_SETTINGS_INITIAL_WINDOW_SIZE.rawValue),
                value: configuration.initialWindowSize),
            nghttp2_settings_entry(
                settings_id: Int32(NGHTTP2_SETTINGS_MAX_HEADER_LIST_SIZE.rawValue),
                value: configuration.maxHeaderListSize),
        ]
        let rc = nghttp2_submit_settings(session, UInt8(NGHTTP2_FLAG_NONE.rawValue), &entries, entries.count)
        precondition(rc == 0, "nghttp2_submit_settings: \(rc)")
        // The connection window can only be raised by WINDOW_UPDATE, not by SETTINGS.
        let rc2 = nghttp2_session_set_local_window_size(
            session, UInt8(NGHTTP2_FLAG_NONE.rawValue), 0, configuration.connectionWindowSize)
        precondition(rc2 == 0, "nghttp2_session_set_local_window_size: \(rc2)")
    }

    // MARK: Input and output

    /// Feeds bytes from the socket. Throws when the peer broke the protocol so badly that
    /// the connection must close (nghttp2 has queued a GOAWAY saying why).
    func receive(_ bytes: ByteBuffer) throws {
        precondition(!isInsideCallback, "nghttp2 re-entered from its own callback")
        isInsideCallback = true
        defer { isInsideCallback = false }
        let rc = bytes.withUnsafeReadableBytes { raw in
            tokenwire_session_mem_recv(session, raw.baseAddress?.assumingMemoryBound(to: UInt8.self), raw.count)
        }
        if rc < 0 { throw NGHTTP2Error(code: Int(rc), operation: "nghttp2_session_mem_recv") }
    }

    /// Appends every frame nghttp2 has ready to `buffer`, up to about `limit` bytes.
    /// Returns whether more output may be pending.
    func produceOutput(into buffer: inout ByteBuffer, limit: Int) throws -> Bool {
        precondition(!isInsideCallback, "nghttp2 re-entered from its own callback")
        isInsideCallback = true
        defer { isInsideCallback = false }
        while buffer.readableBytes < limit {
            var data: UnsafePointer<UInt8>?
            let count = tokenwire_session_mem_send(session, &data)
            if count < 0 { throw NGHTTP2Error(code: Int(count), operation: "nghttp2_session_mem_send") }
            if count == 0 { return false }
            buffer.writeBytes(UnsafeRawBufferPointer(start: data, count: Int(count)))
        }
        return true
    }

    /// Whether nghttp2 still wants to read or write; when neither, the connection is done.
    var isAlive: Bool {
        nghttp2_session_want_read(session) != 0 || nghttp2_session_want_write(session) != 0
    }

    var lastProcessedStreamID: HTTP2StreamID { nghttp2_session_get_last_proc_stream_id(session) }

    /// Whether the peer has ended its side of the stream (or the stream is gone).
    func isRemoteClosed(streamID: HTTP2StreamID) -> Bool {
        nghttp2_session_get_stream_remote_close(session, streamID) != 0
    }

    // MARK: Submitting frames

    /// Starts a response whose DATA comes from the stream's outbound queue.
    func submitResponse(streamID: HTTP2StreamID, headers: [HTTP2Header]) -> Bool {
        Self.withNameValues(headers) { nva, count in
            tokenwire_submit_response(session, streamID, nva, count, onDataRead)
        } == 0
    }

    /// A response of one HEADERS frame with END_STREAM (gRPC trailers-only).
    func submitHeadersOnlyResponse(streamID: HTTP2StreamID, headers: [HTTP2Header]) -> Bool {
        Self.withNameValues(headers) { nva, count in
            tokenwire_submit_response(session, streamID, nva, count, nil)
        } == 0
    }

    /// Starts a request whose body comes from an outbound queue; returns the new stream id.
    func submitRequest(headers: [HTTP2Header]) throws -> HTTP2StreamID {
        let id = Self.withNameValues(headers) { nva, count in
            tokenwire_submit_request(session, nva, count, onDataRead)
        }
        if id < 0 { throw NGHTTP2Error(code: Int(id), operation: "nghttp2_submit_request") }
        return id
    }

    func resumeData(streamID: HTTP2StreamID) {
        // Fails harmlessly when the stream is not deferred or already closed.
        _ = nghttp2_session_resume_data(session, streamID)
    }

    func submitReset(streamID: HTTP2StreamID, errorCode: HTTP2ErrorCode) {
        _ = nghttp2_submit_rst_stream(session, UInt8(NGHTTP2_FLAG_NONE.rawValue), streamID, errorCode.rawValue)
    }

    func submitPing(payload: UInt64) {
        var bytes = payload.bigEndian
        withUnsafeBytes(of: &bytes) { raw in
            _ = nghttp2_submit_ping(session, UInt8(NGHTTP2_FLAG_NONE.rawValue), raw.baseAddress!.assumingMemoryBound(to: UInt8.self))
        }
    }

    /// The first GOAWAY of a graceful shutdown: last stream id 2^31-1, so in-flight
    /// requests the client already sent are still accepted.
    func submitShutdownNotice() {
        _ = nghttp2_submit_shutdown_notice(session)
    }

    func submitGoAway(lastStreamID: HTTP2StreamID, errorCode: HTTP2ErrorCode, debugData: String) {
        var debug = Array(debugData.utf8)
        _ = nghttp2_submit_goaway(
            session, UInt8(NGHTTP2_FLAG_NONE.rawValue), lastStreamID, errorCode.rawValue, &debug, debug.count)
    }

    /// Credits `bytes` of received DATA back to the peer (with `manualWindowUpdates`).
    func consume(streamID: HTTP2StreamID, bytes: Int) {
        _ = nghttp2_session_consume(session, streamID, bytes)
    }

    private static func withNameValues<R>(_ headers: [HTTP2Header], _ body: (UnsafePointer<nghttp2_nv>, Int) -> R) -> R {
        // Scratch space the size of these fields (on the stack when small: a response's
        // headers and trailers are tens of bytes); nghttp2 copies the fields it is given.
        let byteCount = headers.reduce(0) { $0 + $1.name.utf8.count + $1.value.utf8.count } + 1
        return withUnsafeTemporaryAllocation(of: UInt8.self, capacity: byteCount) { storage in
            withUnsafeTemporaryAllocation(of: nghttp2_nv.self, capacity: max(1, headers.count)) { fields in
                var offset = 0
                for (index, header) in headers.enumerated() {
                    let name = storage.baseAddress! + offset
                    let nameLength = UnsafeMutableBufferPointer(start: name, count: header.name.utf8.count).initialize(from: header.name.utf8).1
                    let value = name + nameLength
                    let valueLength = UnsafeMutableBufferPointer(start: value, count: header.value.utf8.count).initialize(from: header.value.utf8).1
                    fields.baseAddress!.advanced(by: index).initialize(to: nghttp2_nv(
                        name: name, value: value, namelen: nameLength, valuelen: valueLength,
                        flags: UInt8(NGHTTP2_NV_FLAG_NONE.rawValue)))
                    offset += nameLength + valueLength
                }
                return body(UnsafePointer(fields.baseAddress!), headers.count)
            }
        }
    }

    // MARK: Callback targets (called by the thunks below)

    fileprivate func beginHeaders(streamID: HTTP2StreamID) {
        var block = HeaderBlock()
        // A gRPC request has 7-10 fields: one allocation instead of one per doubling.
        block.fields.reserveCapacity(12)
        headerBlocks[streamID] = block
    }

    /// Keeps one decoded field, or only counts it once the block is past the limit: HPACK
    /// lets a peer send a 4 KiB field once and then repeat it with one-byte indexes, so the
    /// decoded size, not the wire size, is what must be bounded.
    fileprivate func header(streamID: HTTP2StreamID, name: UnsafeBufferPointer<UInt8>, value: UnsafeBufferPointer<UInt8>) {
        var block = headerBlocks.removeValue(forKey: streamID) ?? HeaderBlock()
        block.decodedSize += name.count + value.count + 32
        if block.isOversized || block.decodedSize > maxHeaderListSize {
            block.isOversized = true
            block.fields = []
        } else {
            block.fields.append(HTTP2Header(Self.string(name), Self.string(value)))
        }
        headerBlocks[streamID] = block
    }

    /// Field text as a `String`. Values every gRPC request carries that are too long for a
    /// small (inline) string are shared, not allocated per request.
    private static func string(_ bytes: UnsafeBufferPointer<UInt8>) -> String {
        if bytes.count > 15, let common = commonLongValues.first(where: { $0.utf8.elementsEqual(bytes) }) { return common }
        return String(decoding: bytes, as: UTF8.self)
    }

    private static let commonLongValues = ["application/grpc", "application/grpc+proto"]

    fileprivate func frameReceived(_ frame: UnsafePointer<nghttp2_frame>) {
        let header = frame.pointee.hd
        let endStream = header.flags & UInt8(NGHTTP2_FLAG_END_STREAM.rawValue) != 0
        switch UInt32(header.type) {
        case NGHTTP2_HEADERS.rawValue:
            let block = headerBlocks.removeValue(forKey: header.stream_id) ?? HeaderBlock()
            if block.isOversized {
                delegate?.sessionRefusedHeaders(
                    streamID: header.stream_id,
                    HTTP2HeaderListTooLarge(decodedSize: block.decodedSize, limit: maxHeaderListSize),
                    endStream: endStream)
            } else {
                delegate?.sessionReceivedHeaders(streamID: header.stream_id, headers: block.fields, endStream: endStream)
            }
        case NGHTTP2_SETTINGS.rawValue:
            if header.flags & UInt8(NGHTTP2_FLAG_ACK.rawValue) == 0 { delegate?.sessionReceivedSettings() }
        case NGHTTP2_DATA.rawValue:
            if endStream { delegate?.sessionReceivedEndStream(streamID: header.stream_id) }
        case NGHTTP2_PING.rawValue:
            let ack = header.flags & UInt8(NGHTTP2_FLAG_ACK.rawValue) != 0
            var payload: UInt64 = 0
            withUnsafeMutableBytes(of: &payload) { destination in
                withUnsafeBytes(of: frame.pointee.ping.opaque_data) { destination.copyMemory(from: $0) }
            }
            delegate?.sessionReceivedPing(ack: ack, payload: UInt64(bigEndian: payload))
        case NGHTTP2_GOAWAY.rawValue:
            delegate?.sessionReceivedGoAway(
                lastStreamID: frame.pointee.goaway.last_stream_id,
                errorCode: HTTP2ErrorCode(rawValue: frame.pointee.goaway.error_code))
        default:
            break
        }
    }

    fileprivate func dataChunk(streamID: HTTP2StreamID, bytes: UnsafeRawBufferPointer) {
        var buffer = allocator.buffer(capacity: bytes.count)
        buffer.writeBytes(bytes)
        delegate?.sessionReceivedData(streamID: streamID, data: buffer)
    }

    fileprivate func streamClosed(streamID: HTTP2StreamID, errorCode: UInt32) {
        headerBlocks.removeValue(forKey: streamID)
        delegate?.sessionClosedStream(streamID: streamID, errorCode: HTTP2ErrorCode(rawValue: errorCode))
    }

    /// nghttp2 could not send a HEADERS frame (a response's headers or trailers too large to
    /// pack, say): reset the stream so the peer learns that it ended instead of waiting forever.
    fileprivate func frameNotSent(_ frame: UnsafePointer<nghttp2_frame>, libraryError: Int32) {
        let header = frame.pointee.hd
        guard UInt32(header.type) == NGHTTP2_HEADERS.rawValue, header.stream_id > 0 else { return }
        _ = nghttp2_submit_rst_stream(
            session, UInt8(NGHTTP2_FLAG_NONE.rawValue), header.stream_id, HTTP2ErrorCode.internalError.rawValue)
    }

    fileprivate func readData(
        streamID: HTTP2StreamID, into destination: UnsafeMutableRawBufferPointer, flags: UnsafeMutablePointer<UInt32>
    ) -> Int {
        guard let outbound = delegate?.outboundStream(for: streamID) else {
            return Int(NGHTTP2_ERR_TEMPORAL_CALLBACK_FAILURE.rawValue)
        }
        switch outbound.read(into: destination) {
        case .deferred:
            return Int(NGHTTP2_ERR_DEFERRED.rawValue)
        case .closed:
            return Int(NGHTTP2_ERR_TEMPORAL_CALLBACK_FAILURE.rawValue)
        case .data(let count, let endOfData, let trailers):
            if endOfData {
                flags.pointee |= NGHTTP2_DATA_FLAG_EOF.rawValue
                if let trailers {
                    let submitted = Self.withNameValues(trailers) { nva, n in nghttp2_submit_trailer(session, streamID, nva, n) }
                    // Without trailers the stream would never end: nghttp2 resets it instead.
                    guard submitted == 0 else { return Int(NGHTTP2_ERR_TEMPORAL_CALLBACK_FAILURE.rawValue) }
                    flags.pointee |= NGHTTP2_DATA_FLAG_NO_END_STREAM.rawValue
                }
            }
            return count
        }
    }
}

// MARK: - C callback thunks: recover the session from user_data and forward.

private func owner(_ userData: UnsafeMutableRawPointer?) -> NGHTTP2Session {
    Unmanaged<NGHTTP2Session>.fromOpaque(userData!).takeUnretainedValue()
}

private let onBeginHeaders: nghttp2_on_begin_headers_callback = { _, frame, userData in
    owner(userData).beginHeaders(streamID: frame!.pointee.hd.stream_id)
    return 0
}

private let onHeader: nghttp2_on_header_callback = { _, frame, name, nameLength, value, valueLength, _, userData in
    owner(userData).header(
        streamID: frame!.pointee.hd.stream_id,
        name: UnsafeBufferPointer(start: name, count: nameLength),
        value: UnsafeBufferPointer(start: value, count: valueLength))
    return 0
}

private let onFrameReceived: nghttp2_on_frame_recv_callback = { _, frame, userData in
    owner(userData).frameReceived(frame!)
    return 0
}

private let onDataChunk: nghttp2_on_data_chunk_recv_callback = { _, _, streamID, data, length, userData in
    owner(userData).dataChunk(streamID: streamID, bytes: UnsafeRawBufferPointer(start: data, count: length))
    return 0
}

private let onStreamClose: nghttp2_on_stream_close_callback = { _, streamID, errorCode, userData in
    owner(userData).streamClosed(streamID: streamID, errorCode: errorCode)
    return 0
}

private let onFrameNotSent: nghttp2_on_frame_not_send_callback = { _, frame, libraryError, userData in
    owner(userData).frameNotSent(frame!, libraryError: libraryError)
    return 0
}

private let onDataRead: tokenwire_data_read_callback = { _, streamID, buffer, length, flags, _, userData in
    tokenwire_nghttp2_ssize(owner(userData).readData(
        streamID: streamID, into: UnsafeMutableRawBufferPointer(start: buffer, count: length), flags: flags!))
}
