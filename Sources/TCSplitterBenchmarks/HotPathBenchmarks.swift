import NIOCore
import TCSplitterCore

/// `TCSplitterBenchmarks hotpath [--seconds S]`: stream bytes per second through the code every
/// tunnelled byte passes, one case at a time, on one core:
///
/// - **packer** (``SendStream``): append a local read (64 KiB, as NIO reads a busy socket), cut
///   every complete payload, acknowledge them. A payload that spans two reads is gathered into a
///   new buffer (a copy); one inside a read is a slice (no copy).
/// - **reassembler** (``ReceiveStream``): receive payloads and report them consumed; in order
///   (the fast path), with every pair swapped (each second payload waits in the stash), and
///   reversed in runs of 16 (a deep stash, as many connections racing give), and one connection of
///   four 64 payloads behind the rest (each late payload releases three stashed ones).
/// - **frame codec**: `writePayloadFrameHeader` (the sender writes the 32 header bytes and the
///   data as a second buffer, so this is the whole per-payload encoding cost), the same plus
///   copying the data into one buffer (`writeFrame`), and `readFrame` over a buffer of 64
///   back-to-back payload frames (envelope checks, header parse, the data as a slice).
///
/// Every figure is stream (payload data) bytes per second, in GB/s (10^9 bytes) and as payloads
/// per second. Each case runs ~2 ms batches until it ran `--seconds` (default 0.3) and reports its
/// best batch, which filters out preemptions by other processes on shared cores.
enum HotPathBenchmarks {
    /// Entry point; returns the exit status.
    static func run(arguments: [String]) -> Int32 {
        guard let minimumSeconds = BenchmarkArguments.minimumSeconds(arguments, benchmark: "hotpath") else { return 2 }
        print("hot path: stream bytes per second, best ~2 ms batch over >= \(minimumSeconds) s, one core")
        print(Self.pad("case", 58) + Self.pad("GB/s", 9, left: true) + Self.pad("payloads/s", 14, left: true))
        do {
            for payloadBytes in [10_000, 65_536] {
                try Self.packer(payloadBytes: payloadBytes, seconds: minimumSeconds)
            }
            for payloadBytes in [10_000, 65_536] {
                for order in [Order.inOrder, .pairsSwapped, .reversedRunsOf16, .lateStripe] {
                    try Self.reassembler(payloadBytes: payloadBytes, order: order, seconds: minimumSeconds)
                }
            }
            for payloadBytes in [1_400, 10_000, 65_536] {
                try Self.frameCodec(payloadBytes: payloadBytes, seconds: minimumSeconds)
            }
        } catch {
            print("hotpath: failed: \(error)")
            return 1
        }
        return 0
    }

    /// Raised when a loop produced the wrong bytes, so a fast but wrong path never reports a number.
    struct CheckFailed: Error, CustomStringConvertible {
        var description: String
    }

    // MARK: packer

    static func packer(payloadBytes: Int, seconds: Double) throws {
        let readBytes = 65_536
        let read = Self.randomBuffer(readBytes)
        var stream = SendStream(payloadBytes: payloadBytes, windowBytes: 64 << 20)
        var payloads = 0
        var packedBytes = 0
        let best = Self.measure(seconds: seconds) {
            stream.append(read)
            for payload in stream.takePayloads(includeTail: false) {
                payloads += 1
                packedBytes += payload.data.readableBytes
            }
            _ = try? stream.acknowledge(upTo: stream.packedOffset)
        }
        guard packedBytes > 0, UInt64(packedBytes) == stream.packedOffset, stream.unacknowledgedBytes == 0 else {
            throw CheckFailed(description: "packer: \(packedBytes) bytes cut, \(stream.packedOffset) packed")
        }
        Self.report(
            "packer SendStream, 64 KiB reads -> \(payloadBytes) B payloads", bytesPerCall: readBytes, best: best,
            payloadBytes: payloadBytes)
    }

    // MARK: reassembler

    enum Order: String {
        case inOrder = "in order"
        case pairsSwapped = "pairs swapped"
        case reversedRunsOf16 = "reversed runs of 16"
        case lateStripe = "1 of 4 stripes 64 late"

        /// The order in which the payloads of one call arrive (16, or 256 for the late stripe).
        var permutation: [Int] {
            switch self {
            case .inOrder: return Array(0..<16)
            case .pairsSwapped: return (0..<8).flatMap { [2 * $0 + 1, 2 * $0] }
            case .reversedRunsOf16: return Array((0..<16).reversed())
            // Four connections, one of them 64 payloads behind the others: the other three's
            // payloads wait in the stash (up to 192), and each late one releases the next three.
            case .lateStripe: return (0..<256).filter { $0 % 4 != 0 } + (0..<256).filter { $0 % 4 == 0 }
            }
        }
    }

    static func reassembler(payloadBytes: Int, order: Order, seconds: Double) throws {
        // One call delivers 16 (or 256) payloads in the given order and consumes what came out.
        let permutation = order.permutation
        let perCall = permutation.count
        let source = Self.randomBuffer(perCall * payloadBytes)
        let slices = (0..<perCall).map { source.getSlice(at: $0 * payloadBytes, length: payloadBytes)! }
        let now = NIODeadline.uptimeNanoseconds(0)
        var stream = ReceiveStream(windowBytes: 64 << 20, now: now)
        var base: UInt64 = 0
        var delivered = 0
        var failure: String? = nil
        let best = Self.measure(seconds: seconds) {
            for index in permutation {
                do {
                    for piece in try stream.receive(
                        offset: base + UInt64(index * payloadBytes), data: slices[index], now: now)
                    {
                        delivered += piece.readableBytes
                        try stream.consumed(piece.readableBytes)
                    }
                } catch {
                    failure = "\(error)"
                }
            }
            base += UInt64(perCall * payloadBytes)
        }
        if let failure { throw CheckFailed(description: "reassembler: \(failure)") }
        guard UInt64(delivered) == base, stream.deliveredOffset == base, stream.stashedBytes == 0 else {
            throw CheckFailed(description: "reassembler: delivered \(delivered) of \(base) bytes")
        }
        Self.report(
            "reassembler ReceiveStream, \(payloadBytes) B, \(order.rawValue)", bytesPerCall: perCall * payloadBytes,
            best: best, payloadBytes: payloadBytes)
    }

    // MARK: frame codec

    static func frameCodec(payloadBytes: Int, seconds: Double) throws {
        let data = Self.randomBuffer(payloadBytes)
        var header = PayloadHeader(sessionID: SessionID(rawValue: 0x1234_5678_9ABC_DEF0), offset: 0)
        var out = ByteBufferAllocator().buffer(capacity: 64 + payloadBytes)

        // Header only: what the sender writes in front of the data buffer (the data is not copied).
        var headerBytes = 0
        let headerBest = Self.measure(seconds: seconds) {
            out.clear()
            headerBytes += out.writePayloadFrameHeader(header, dataBytes: payloadBytes)
            header.offset &+= UInt64(payloadBytes)
        }
        guard out.readableBytes == WireConstants.payloadFrameHeaderBytes else {
            throw CheckFailed(description: "encode: header is \(out.readableBytes) bytes")
        }
        Self.report(
            "frame encode writePayloadFrameHeader, \(payloadBytes) B data", bytesPerCall: payloadBytes,
            best: headerBest, payloadBytes: payloadBytes)

        // Header plus the data copied into the same buffer.
        let frame = Frame.payload(PayloadFrame(header: header, data: data))
        let wholeBest = Self.measure(seconds: seconds) {
            out.clear()
            out.writeFrame(frame)
        }
        Self.report(
            "frame encode writeFrame (data copied), \(payloadBytes) B", bytesPerCall: payloadBytes, best: wholeBest,
            payloadBytes: payloadBytes)

        // Decode: 64 frames back to back, as a fling connection's read buffer holds them.
        let framesPerCall = 64
        var wire = ByteBufferAllocator().buffer(capacity: framesPerCall * (payloadBytes + 64))
        for index in 0..<framesPerCall {
            let frameHeader = PayloadHeader(sessionID: header.sessionID, offset: UInt64(index * payloadBytes))
            wire.writeFrame(.payload(PayloadFrame(header: frameHeader, data: data)))
        }
        let limits = FrameLimits(maxPayloadBytes: payloadBytes)
        let start = wire.readerIndex
        var decodedBytes = 0
        var failure: String? = nil
        let decodeBest = Self.measure(seconds: seconds) {
            wire.moveReaderIndex(to: start)
            do {
                while let frame = try wire.readFrame(limits: limits) {
                    if case .payload(let payload) = frame { decodedBytes += payload.data.readableBytes }
                }
            } catch {
                failure = "\(error)"
            }
        }
        if let failure { throw CheckFailed(description: "decode: \(failure)") }
        guard decodedBytes > 0, decodedBytes % (framesPerCall * payloadBytes) == 0 else {
            throw CheckFailed(description: "decode: \(decodedBytes) bytes is not whole calls")
        }
        Self.report(
            "frame decode readFrame, 64 x \(payloadBytes) B", bytesPerCall: framesPerCall * payloadBytes,
            best: decodeBest, payloadBytes: payloadBytes)
    }

    // MARK: helpers

    /// Runs ~2 ms batches of `body` until `seconds` were spent; returns the best batch as
    /// (calls, seconds).
    static func measure(seconds: Double, _ body: () -> Void) -> (calls: Int, seconds: Double) {
        let clock = ContinuousClock()
        func time(_ calls: Int) -> Double {
            let start = clock.now
            for _ in 0..<calls { body() }
            let elapsed = start.duration(to: clock.now).components
            return Double(elapsed.seconds) + Double(elapsed.attoseconds) * 1e-18
        }
        _ = time(16)  // warm up
        let perCall = max(time(64) / 64, 1e-9)
        let calls = max(1, Int(0.002 / perCall))
        var best = (calls: calls, seconds: Double.infinity)
        var total = 0.0
        while total < seconds {
            let spent = time(calls)
            total += spent
            if spent < best.seconds { best.seconds = spent }
        }
        return best
    }

    static func report(_ name: String, bytesPerCall: Int, best: (calls: Int, seconds: Double), payloadBytes: Int) {
        let bytesPerSecond = Double(best.calls * bytesPerCall) / best.seconds
        let payloadsPerSecond = bytesPerSecond / Double(payloadBytes)
        print(
            Self.pad(name, 58) + Self.pad(String(format2(bytesPerSecond / 1e9)), 9, left: true)
                + Self.pad(String(Int(payloadsPerSecond.rounded())), 14, left: true)
        )
    }

    static func format2(_ value: Double) -> String {
        let scaled = (value * 100).rounded() / 100
        var text = String(scaled)
        if let dot = text.firstIndex(of: ".") {
            let decimals = text.distance(from: dot, to: text.endIndex) - 1
            if decimals < 2 { text += String(repeating: "0", count: 2 - decimals) }
        }
        return text
    }

    static func pad(_ text: String, _ width: Int, left: Bool = false) -> String {
        guard text.count < width else { return text + " " }
        let fill = String(repeating: " ", count: width - text.count)
        return left ? fill + text : text + fill
    }

    static func randomBuffer(_ count: Int) -> ByteBuffer {
        var state: UInt64 = 0x9E37_79B9_7F4A_7C15
        var buffer = ByteBufferAllocator().buffer(capacity: count)
        for _ in 0..<count {
            state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            buffer.writeInteger(UInt8(truncatingIfNeeded: state >> 56))
        }
        return buffer
    }
}
