import NIOCore
import Testing
import TokenwireCore
@testable import TokenwireServer

@Suite("EndedStreams: ended streams' frames in shared slabs, dropped oldest first")
struct EndedStreamsTests {
    let now = NIODeadline.uptimeNanoseconds(1_000_000_000)

    /// Frames of `length` bytes, each byte naming the stream.
    func frames(_ stream: Int, length: Int) -> ByteBuffer {
        ByteBuffer(repeating: UInt8(truncatingIfNeeded: stream), count: length)
    }

    func key(_ stream: Int) -> ResumeToken { ResumeToken(high: 7, low: UInt64(stream)) }

    @Test func aKeptStreamIsFoundWithItsExactFramesLastSeqAndStatus() {
        var ended = EndedStreams(maxTotalBytes: 1024 * 1024)
        let status = GRPCStatus(code: .resourceExhausted, message: "quota")
        for stream in 0..<200 {
            let charge = ended.add(key: key(stream), messages: frames(stream, length: 300 + stream), lastSeq: UInt64(stream), status: stream == 5 ? status : GRPCStatus(code: .ok, message: ""), at: now)
            #expect(charge == 300 + stream + EndedStreams.recordOverhead)
        }
        #expect(ended.count == 200)
        #expect(ended.slabCount > 1, "200 streams of ~400 bytes fill more than one 64 KiB slab")
        for stream in 0..<200 {
            let found = ended.find(key(stream))
            #expect(found?.messages == frames(stream, length: 300 + stream))
            #expect(found?.lastSeq == UInt64(stream))
        }
        #expect(ended.find(key(5))?.status == status)
        #expect(ended.find(key(999)) == nil)
    }

    @Test func droppingTheOldestFreesEachSlabOnceNoStreamIsLeftInIt() {
        var ended = EndedStreams(maxTotalBytes: 1024 * 1024)
        for stream in 0..<400 { _ = ended.add(key: key(stream), messages: frames(stream, length: 1000), lastSeq: 1, status: GRPCStatus(code: .ok, message: ""), at: now) }
        let slabs = ended.slabCount
        #expect(slabs >= 6)
        var dropped = 0
        while ended.count > 100 {
            #expect(ended.dropOldest() == 1000 + EndedStreams.recordOverhead)
            dropped += 1
        }
        #expect(ended.slabCount < slabs && ended.slabCount >= 2)
        #expect(ended.find(key(dropped - 1)) == nil)
        #expect(ended.find(key(dropped))?.messages == frames(dropped, length: 1000))
        #expect(ended.find(key(399))?.messages == frames(399, length: 1000))
        while ended.dropOldest() != nil {}
        #expect(ended.count == 0 && ended.slabCount == 0)
        // And it fills again from nothing.
        _ = ended.add(key: key(1), messages: frames(1, length: 10), lastSeq: 3, status: GRPCStatus(code: .ok, message: ""), at: now)
        #expect(ended.find(key(1))?.messages == frames(1, length: 10))
    }

    @Test func aStreamLongerThanAQuarterSlabGetsStorageOfItsOwnAndTheSmallOnesAroundItAreIntact() {
        var ended = EndedStreams(maxTotalBytes: 1024 * 1024)
        let big = ended.slabCapacity
        _ = ended.add(key: key(1), messages: frames(1, length: 100), lastSeq: 1, status: GRPCStatus(code: .ok, message: ""), at: now)
        _ = ended.add(key: key(2), messages: frames(2, length: big), lastSeq: 2, status: GRPCStatus(code: .ok, message: ""), at: now)
        _ = ended.add(key: key(3), messages: frames(3, length: 100), lastSeq: 3, status: GRPCStatus(code: .ok, message: ""), at: now)
        #expect(ended.find(key(1))?.messages == frames(1, length: 100))
        #expect(ended.find(key(2))?.messages == frames(2, length: big))
        #expect(ended.find(key(3))?.messages == frames(3, length: 100))
        _ = ended.dropOldest()
        _ = ended.dropOldest()
        #expect(ended.find(key(3))?.messages == frames(3, length: 100))
        #expect(ended.slabCount == 1)
    }

    @Test func aStreamWithNoFramesHeldIsStillFoundWithItsEnd() {
        var ended = EndedStreams(maxTotalBytes: 1024 * 1024)
        _ = ended.add(key: key(1), messages: ByteBuffer(), lastSeq: 40, status: GRPCStatus(code: .cancelled, message: "gone"), at: now)
        let found = ended.find(key(1))
        #expect(found?.messages.readableBytes == 0)
        #expect(found?.lastSeq == 40)
        #expect(found?.status.code == .cancelled)
    }

    @Test func theOldestEndIsTheFirstKeptStreams() {
        var ended = EndedStreams(maxTotalBytes: 1024 * 1024)
        #expect(ended.oldestEnd == nil)
        _ = ended.add(key: key(1), messages: frames(1, length: 10), lastSeq: 1, status: GRPCStatus(code: .ok, message: ""), at: now)
        _ = ended.add(key: key(2), messages: frames(2, length: 10), lastSeq: 1, status: GRPCStatus(code: .ok, message: ""), at: now + .seconds(5))
        #expect(ended.oldestEnd == now)
        _ = ended.dropOldest()
        #expect(ended.oldestEnd == now + .seconds(5))
    }
}
