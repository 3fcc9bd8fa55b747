import NIOCore
import TCSplitterCore
import Testing

/// The packer and send window: bytes in → payloads out, allowance, acknowledgements, end of input.
@Suite struct SendStreamTests {
    @Test("a new stream may read a whole window and has no final offset")
    func initialState() {
        let stream = SendStream(payloadBytes: 10, windowBytes: 100)
        #expect(stream.readAllowance == 100)
        #expect(stream.packedOffset == 0)
        #expect(stream.ackedOffset == 0)
        #expect(stream.pendingBytes == 0)
        #expect(stream.finalOffset == nil)
        #expect(!stream.isComplete)
    }

    @Test("sizes are clamped: payloads of at least one byte, a window of at least one payload")
    func clamping() {
        let tiny = SendStream(payloadBytes: 0, windowBytes: 0)
        #expect(tiny.payloadBytes == 1)
        #expect(tiny.windowBytes == 1)
        let small = SendStream(payloadBytes: 500, windowBytes: 100)
        #expect(small.windowBytes == 500)
    }

    @Test("complete payloads are cut at once; the tail waits unless asked for")
    func cutting() {
        var stream = SendStream(payloadBytes: 10, windowBytes: 1000)
        stream.append(.stream(offset: 0, count: 25))
        let full = stream.takePayloads(includeTail: false)
        #expect(full.map(\.offset) == [0, 10])
        #expect(full.map(\.data) == [.stream(offset: 0, count: 10), .stream(offset: 10, count: 10)])
        #expect(full.allSatisfy { !$0.isEndOfStream })
        #expect(stream.pendingBytes == 5)
        #expect(stream.packedOffset == 20)

        #expect(stream.takePayloads(includeTail: false).isEmpty)
        let tail = stream.takePayloads(includeTail: true)
        #expect(tail == [OutboundPayload(offset: 20, data: .stream(offset: 20, count: 5), isEndOfStream: false)])
        #expect(stream.pendingBytes == 0)
        #expect(stream.takePayloads(includeTail: true).isEmpty)
    }

    @Test(
        "with largeCutBytes, a payload takes the rest of a read up to that size; less than a payload is gathered or waits"
    )
    func largeCuts() throws {
        var stream = SendStream(payloadBytes: 10, windowBytes: 1000)
        stream.largeCutBytes = 35
        stream.append(.stream(offset: 0, count: 95))
        stream.append(.stream(offset: 95, count: 27))
        stream.append(.stream(offset: 122, count: 4))
        let cut = stream.takePayloads(includeTail: false)
        // The first read: 35 + 35 + 25, slices of it. The second read: 27, a slice. The third
        // holds 4 bytes, short of a payload: they wait for the tock.
        #expect(
            cut.map(\.data) == [
                .stream(offset: 0, count: 35), .stream(offset: 35, count: 35), .stream(offset: 70, count: 25),
                .stream(offset: 95, count: 27),
            ])
        #expect(cut.map(\.offset) == [0, 35, 70, 95])
        #expect(stream.pendingBytes == 4)
        // A head shorter than a payload makes one payload of --frags size from two reads.
        stream.append(.stream(offset: 126, count: 30))
        #expect(
            stream.takePayloads(includeTail: false).map(\.data) == [
                .stream(offset: 122, count: 10), .stream(offset: 132, count: 24),
            ])
        #expect(stream.pendingBytes == 0)

        // The window still bounds every cut, and 0 means payloads of --frags size again.
        var windowed = SendStream(payloadBytes: 10, windowBytes: 45)
        windowed.largeCutBytes = 100
        windowed.append(.stream(offset: 0, count: 60))
        #expect(windowed.takePayloads(includeTail: false).map(\.data) == [.stream(offset: 0, count: 45)])
        _ = try windowed.acknowledge(upTo: 40)
        windowed.largeCutBytes = 0
        #expect(windowed.takePayloads(includeTail: false).map(\.data) == [.stream(offset: 45, count: 10)])
    }

    @Test("small reads are joined into full payloads")
    func joiningReads() {
        var stream = SendStream(payloadBytes: 10, windowBytes: 1000)
        stream.append(.stream(offset: 0, count: 3))
        stream.append(.stream(offset: 3, count: 4))
        let early = stream.takePayloads(includeTail: false)
        #expect(early.isEmpty)
        stream.append(.stream(offset: 7, count: 3))
        let joined = stream.takePayloads(includeTail: false)
        #expect(joined == [OutboundPayload(offset: 0, data: .stream(offset: 0, count: 10), isEndOfStream: false)])
    }

    @Test("empty reads change nothing")
    func emptyRead() {
        var stream = SendStream(payloadBytes: 10, windowBytes: 100)
        stream.append(ByteBuffer())
        #expect(stream.pendingBytes == 0)
        #expect(stream.takePayloads(includeTail: true).isEmpty)
        #expect(stream.readAllowance == 100)
    }

    @Test("the allowance counts pending and unacknowledged bytes and reaches zero at the window")
    func allowance() throws {
        var stream = SendStream(payloadBytes: 10, windowBytes: 50)
        stream.append(.stream(offset: 0, count: 15))
        #expect(stream.readAllowance == 35)
        _ = stream.takePayloads(includeTail: false)
        #expect(stream.unacknowledgedBytes == 10)
        #expect(stream.readAllowance == 35)
        stream.append(.stream(offset: 15, count: 35))
        #expect(stream.readAllowance == 0)
        // A read may overshoot by one buffer; the allowance stays at zero rather than going negative.
        stream.append(.stream(offset: 50, count: 8))
        #expect(stream.readAllowance == 0)
        // ... but the wire may not: nothing is cut past ackedOffset + window.
        let cut = stream.takePayloads(includeTail: true)
        #expect(cut.allSatisfy { $0.offset + UInt64($0.data.readableBytes) <= 50 })
        #expect(stream.unacknowledgedBytes == 50)
        #expect(stream.pendingBytes == 8)
        let opened = try stream.acknowledge(upTo: 30)
        #expect(opened)
        #expect(stream.readAllowance == 22)
        // The acknowledgement lets the waiting bytes go.
        let rest = stream.takePayloads(includeTail: true)
        #expect(rest.map(\.offset) == [50])
        #expect(rest.first?.data.readableBytes == 8)
        #expect(stream.unacknowledgedBytes == 28)
    }

    @Test("acknowledgements are cumulative: old ones change nothing, unsent bytes are refused")
    func acknowledgements() throws {
        var stream = SendStream(payloadBytes: 10, windowBytes: 100)
        stream.append(.stream(offset: 0, count: 30))
        _ = stream.takePayloads(includeTail: false)
        let first = try stream.acknowledge(upTo: 20)
        let repeated = try stream.acknowledge(upTo: 20)
        let older = try stream.acknowledge(upTo: 5)
        #expect(first)
        #expect(!repeated)
        #expect(!older)
        #expect(stream.ackedOffset == 20)
        #expect(throws: SendStreamError.acknowledgedUnsentBytes(acknowledged: 31, sent: 30)) {
            try stream.acknowledge(upTo: 31)
        }
        #expect(stream.ackedOffset == 20)
        let rest = try stream.acknowledge(upTo: 30)
        #expect(rest)
        #expect(stream.unacknowledgedBytes == 0)
    }

    @Test("pending bytes cannot be acknowledged before they are packed")
    func ackPendingRefused() {
        var stream = SendStream(payloadBytes: 10, windowBytes: 100)
        stream.append(.stream(offset: 0, count: 5))
        #expect(throws: SendStreamError.acknowledgedUnsentBytes(acknowledged: 5, sent: 0)) {
            try stream.acknowledge(upTo: 5)
        }
    }

    @Test("at the end of input the tail goes out marked end-of-stream, and reading stops")
    func endOfInput() throws {
        var stream = SendStream(payloadBytes: 10, windowBytes: 100)
        stream.append(.stream(offset: 0, count: 23))
        stream.endInput()
        #expect(stream.readAllowance == 0)
        #expect(stream.finalOffset == 23)
        #expect(!stream.endOfStreamPacked)
        let payloads = stream.takePayloads(includeTail: false)
        #expect(payloads.map(\.offset) == [0, 10, 20])
        #expect(payloads.map(\.isEndOfStream) == [false, false, true])
        #expect(payloads.last?.data == .stream(offset: 20, count: 3))
        #expect(stream.endOfStreamPacked)
        #expect(stream.finalOffset == 23)
        #expect(!stream.isComplete)
        try stream.acknowledge(upTo: 20)
        #expect(!stream.isComplete)
        try stream.acknowledge(upTo: 23)
        #expect(stream.isComplete)
    }

    @Test("a final payload of exactly full size is the one marked end-of-stream")
    func endOnBoundary() {
        var stream = SendStream(payloadBytes: 10, windowBytes: 100)
        stream.append(.stream(offset: 0, count: 20))
        stream.endInput()
        #expect(stream.takePayloads(includeTail: false).map(\.isEndOfStream) == [false, true])
    }

    @Test(
        "input ending after everything was packed needs no payload, and the stream is then complete once acknowledged")
    func endWithNothingPending() throws {
        var stream = SendStream(payloadBytes: 10, windowBytes: 100)
        stream.append(.stream(offset: 0, count: 10))
        #expect(stream.takePayloads(includeTail: true).count == 1)
        stream.endInput()
        #expect(stream.finalOffset == 10)
        #expect(stream.takePayloads(includeTail: true).isEmpty)
        #expect(stream.endOfStreamPacked)
        try stream.acknowledge(upTo: 10)
        #expect(stream.isComplete)
    }

    @Test("an empty stream that ends is complete at offset zero")
    func emptyStream() {
        var stream = SendStream(payloadBytes: 10, windowBytes: 100)
        stream.endInput()
        #expect(stream.finalOffset == 0)
        #expect(stream.takePayloads(includeTail: false).isEmpty)
        #expect(stream.isComplete)
    }

    @Test("bytes appended after the end of input are ignored")
    func appendAfterEnd() {
        var stream = SendStream(payloadBytes: 10, windowBytes: 100)
        stream.append(.stream(offset: 0, count: 4))
        stream.endInput()
        stream.append(.stream(offset: 4, count: 4))
        #expect(stream.finalOffset == 4)
        #expect(
            stream.takePayloads(includeTail: false) == [
                OutboundPayload(offset: 0, data: .stream(offset: 0, count: 4), isEndOfStream: true)
            ])
    }

    @Test("random reads come out as contiguous payloads holding exactly the input")
    func randomReads() throws {
        var generator = SplitMix64(seed: 7)
        var stream = SendStream(payloadBytes: 1000, windowBytes: 64 << 10)
        var input = 0
        var output: [UInt8] = []
        var nextOffset: UInt64 = 0
        while input < 200_000 {
            let count = min(Int.random(in: 1...3000, using: &generator), stream.readAllowance)
            if count > 0 {
                stream.append(.stream(offset: input, count: count))
                input += count
            }
            for payload in stream.takePayloads(includeTail: Bool.random(using: &generator)) {
                #expect(payload.offset == nextOffset)
                #expect(payload.data.readableBytes <= 1000)
                nextOffset += UInt64(payload.data.readableBytes)
                output += payload.data.bytes
            }
            try stream.acknowledge(upTo: stream.packedOffset)
        }
        stream.endInput()
        let last = stream.takePayloads(includeTail: false)
        for payload in last { output += payload.data.bytes }
        #expect(output == ByteBuffer.stream(offset: 0, count: input).bytes)
        #expect(stream.finalOffset == UInt64(input))
        #expect(last.last.map(\.isEndOfStream) ?? stream.endOfStreamPacked)
    }

    @Test("payloads cut across many uneven reads carry exactly the bytes read, and a held tail never grows")
    func unevenReads() {
        var stream = SendStream(payloadBytes: 1000, windowBytes: 1 << 30)
        var generator = SystemRandomNumberGenerator()
        var offset = 0
        var out: [UInt8] = []
        for _ in 0..<500 {
            let count = Int.random(in: 1...2500, using: &generator)
            stream.append(.stream(offset: offset, count: count))
            offset += count
            for payload in stream.takePayloads(includeTail: false) {
                #expect(payload.data.readableBytes == 1000)
                #expect(payload.offset == UInt64(out.count))
                out += payload.data.bytes
            }
            // The tail waiting for its tock is less than a payload, whatever has been read.
            #expect(stream.pendingBytes < 1000)
        }
        stream.endInput()
        for payload in stream.takePayloads(includeTail: true) { out += payload.data.bytes }
        #expect(out == ByteBuffer.stream(offset: 0, count: offset).bytes)
        #expect(stream.endOfStreamPacked)
    }
}
