import NIOCore
import Testing
import TokenwireTestSupport
import TokenwireRedis

@Suite("RESP: values read as they arrive, within bounds")
struct RESPParserTests {
    func parse(_ text: String, limits: RESPParser.Limits = .init()) throws -> (RESPValue?, left: Int) {
        var buffer = ByteBuffer(string: text)
        let value = try RESPParser(limits: limits).next(from: &buffer)
        return (value, buffer.readableBytes)
    }

    @Test func everyRESP2TypeIsRead() throws {
        #expect(try parse("+OK\r\n").0 == .simpleString("OK"))
        #expect(try parse("-ERR wrong\r\n").0 == .error("ERR wrong"))
        #expect(try parse(":-42\r\n").0 == .integer(-42))
        #expect(try parse("$3\r\nabc\r\n").0 == .bulkString(ByteBuffer(string: "abc")))
        #expect(try parse("$0\r\n\r\n").0 == .bulkString(ByteBuffer()))
        #expect(try parse("$-1\r\n").0 == .bulkString(nil))
        #expect(try parse("*-1\r\n").0 == .array(nil))
        #expect(try parse("*2\r\n:1\r\n*1\r\n$1\r\nx\r\n").0 == .array([.integer(1), .array([.bulkString(ByteBuffer(string: "x"))])]))
    }

    @Test func bulkStringKeepsNULAndCRLFInside() throws {
        var bytes = ByteBuffer(string: "$5\r\n")
        bytes.writeBytes([0x61, 0x00, 0x0D, 0x0A, 0x62])
        bytes.writeString("\r\n")
        let value = try RESPParser().next(from: &bytes)
        #expect(value == .bulkString(ByteBuffer(bytes: [0x61, 0x00, 0x0D, 0x0A, 0x62])))
    }

    @Test func incompleteValueTakesNothingAndCompletesLater() throws {
        let whole = "*2\r\n$5\r\nhello\r\n:7\r\n+next\r\n"
        for cut in 1..<(whole.utf8.count - "+next\r\n".utf8.count) {
            var buffer = ByteBuffer(bytes: whole.utf8.prefix(cut))
            #expect(try RESPParser().next(from: &buffer) == nil, "cut at \(cut)")
            #expect(buffer.readableBytes == cut, "cut at \(cut) consumed bytes")
        }
        var buffer = ByteBuffer(string: whole)
        #expect(try RESPParser().next(from: &buffer) == .array([.bulkString(ByteBuffer(string: "hello")), .integer(7)]))
        #expect(try RESPParser().next(from: &buffer) == .simpleString("next"))
        #expect(buffer.readableBytes == 0)
    }

    @Test func bulkStringOverTheLimitIsRefusedBeforeItsBytesArrive() throws {
        var limits = RESPParser.Limits()
        limits.maxBulkBytes = 10
        #expect(throws: RESPProtocolError("bulk string of 11 (the limit is 10)")) { try parse("$11\r\n", limits: limits) }
        #expect(try parse("$10\r\n", limits: limits).0 == nil)
    }

    @Test func arrayOverTheLimitOrTooDeepIsRefused() throws {
        var limits = RESPParser.Limits()
        limits.maxArrayElements = 2
        limits.maxDepth = 2
        #expect(throws: RESPProtocolError("array of 3 (the limit is 2)")) { try parse("*3\r\n", limits: limits) }
        #expect(throws: RESPProtocolError("arrays nested deeper than 2")) { try parse("*1\r\n*1\r\n*1\r\n:1\r\n", limits: limits) }
        #expect(try parse("*1\r\n*1\r\n:1\r\n", limits: limits).0 == .array([.array([.integer(1)])]))
    }

    @Test func lineThatNeverEndsIsRefusedOnceItPassesTheLimit() throws {
        var limits = RESPParser.Limits()
        limits.maxLineBytes = 8
        #expect(try parse("+12345678", limits: limits).0 == nil)
        #expect(throws: RESPProtocolError.self) { try parse("+123456789", limits: limits) }
    }

    @Test func malformedInputNamesWhatIsWrong() throws {
        #expect(throws: RESPProtocolError("unknown type byte 0x3f (RESP2 knows + - : $ *)")) { try parse("?x\r\n") }
        #expect(throws: RESPProtocolError("bulk string length '-2' is not a number of -1 or more")) { try parse("$-2\r\n") }
        #expect(throws: RESPProtocolError("integer reply 'x' is not a number")) { try parse(":x\r\n") }
        #expect(throws: RESPProtocolError("bulk string of 1 bytes is not followed by CRLF")) { try parse("$1\r\nab\r\n") }
        #expect(throws: RESPProtocolError("CR not followed by LF")) { try parse("+a\rb\r\n") }
    }

    @Test func commandIsAnArrayOfBulkStrings() {
        var buffer = ByteBuffer()
        RESPCommand("SET", [ByteBuffer(string: "k"), ByteBuffer(bytes: [0, 1])]).encode(into: &buffer)
        var expected = ByteBuffer(string: "*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$2\r\n")
        expected.writeBytes([0, 1])
        expected.writeString("\r\n")
        #expect(buffer == expected)
    }

    @Test func addressesParseWithDefaultsAndSayWhatIsWrong() throws {
        #expect(try RedisAddress(parsing: "redis://localhost") == RedisAddress(host: "localhost"))
        #expect(try RedisAddress(parsing: "redis://10.0.0.1:6380/2") == RedisAddress(host: "10.0.0.1", port: 6380, database: 2))
        #expect(try RedisAddress(parsing: "redis://[::1]:7000") == RedisAddress(host: "::1", port: 7000))
        #expect(RedisAddress(host: "::1", port: 7000, database: 1).description == "redis://[::1]:7000/1")
        #expect(throws: RedisAddressError.self) { try RedisAddress(parsing: "http://localhost") }
        #expect(throws: RedisAddressError.self) { try RedisAddress(parsing: "redis://host:port") }
        #expect(throws: RedisAddressError.self) { try RedisAddress(parsing: "redis://host:70000") }
        #expect(throws: RedisAddressError.self) { try RedisAddress(parsing: "redis://host/x") }
        #expect(throws: RedisAddressError.self) { try RedisAddress(parsing: "redis://:6379") }
    }
}
