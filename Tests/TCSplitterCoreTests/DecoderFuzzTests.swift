import Foundation
import NIOCore
import TCSplitterCore
import Testing

/// A seeded random-mutation fuzzer over every decoder that reads peer bytes: the frame envelope,
/// hellos, payloads, control messages, and the FEC collector's handling of shard fields.
///
/// `swift test --filter DecoderFuzzTests` runs 200,000 inputs; set `TCSPLITTER_FUZZ_ITERATIONS`
/// (e.g. 1000000) and `TCSPLITTER_FUZZ_SEED` for a longer or different run. Every input must
/// either decode, ask for more bytes without consuming any, or throw a typed error; nothing may
/// trap, loop, or consume bytes it did not decode.
@Suite struct DecoderFuzzTests {
    static var iterations: Int {
        ProcessInfo.processInfo.environment["TCSPLITTER_FUZZ_ITERATIONS"].flatMap(Int.init) ?? 200_000
    }

    static var seed: UInt64 {
        ProcessInfo.processInfo.environment["TCSPLITTER_FUZZ_SEED"].flatMap(UInt64.init) ?? 0xF0F0_1234
    }

    static let corpus: [[UInt8]] = {
        let id = SessionID(rawValue: 0x1122_3344_5566_7788)
        let frames: [Frame] = [
            .serverHello(ServerHello(nonce: HelloNonce(high: 1, low: 2), requiresProof: true)),
            .clientHello(
                ClientHello(
                    kind: .lasso, clientID: ClientID(rawValue: 9), nonce: HelloNonce(high: 3, low: 4),
                    proof: Array(repeating: 7, count: 32))),
            .payload(
                PayloadFrame(
                    header: PayloadHeader(sessionID: id, offset: 1 << 40), data: .stream(offset: 0, count: 300))),
            .payload(
                PayloadFrame(
                    header: PayloadHeader(
                        sessionID: id, offset: 0, group: 3, shardIndex: 11, dataShards: 10, parityShards: 3,
                        flags: .parity), data: .stream(offset: 0, count: 64))),
            .control(.open(id)), .control(.opened(id)), .control(.openFailed(id, reason: "refused")),
            .control(.finish(id, finalOffset: 123)),
            .control(.progress(id, receivedOffset: 5, sentOffset: 9, selective: [10..<20, 30..<40])),
            .control(.resend(id, ranges: [0..<5, 8..<9])), .control(.reset(id, reason: "ünïcödé")), .control(.ping(1)),
            .control(.pong(2)),
            .control(.replace(HelloNonce(high: 5, low: 6))),
            .control(.openTo(id, SessionDestination(addressBytes: [198, 18, 20, 2], port: 7001)!)),
        ]
        return frames.map { frame in
            var buffer = ByteBuffer()
            buffer.writeFrame(frame)
            return buffer.bytes
        }
    }()

    static func mutate(_ input: [UInt8], with generator: inout SplitMix64) -> [UInt8] {
        var bytes = input
        for _ in 0...(generator.next() % 4) {
            switch generator.next() % 7 {
            case 0 where !bytes.isEmpty:  // flip a bit
                let index = Int(generator.next() % UInt64(bytes.count))
                bytes[index] ^= UInt8(1 << (generator.next() % 8))
            case 1 where !bytes.isEmpty:  // set a byte to an edge value
                let index = Int(generator.next() % UInt64(bytes.count))
                bytes[index] = [0x00, 0xFF, 0x7F, 0x80, 0x01][Int(generator.next() % 5)]
            case 2 where !bytes.isEmpty:  // truncate
                bytes.removeLast(Int(generator.next() % UInt64(bytes.count)))
            case 3:  // insert random bytes
                let index = bytes.isEmpty ? 0 : Int(generator.next() % UInt64(bytes.count))
                bytes.insert(
                    contentsOf: (0..<Int(generator.next() % 16)).map { _ in UInt8(truncatingIfNeeded: generator.next())
                    }, at: index)
            case 4 where bytes.count >= 8:  // rewrite the length field
                let length = [0, 1, 24, 25, UInt32.max, UInt32(bytes.count - 8), UInt32(generator.next() % 4096)][
                    Int(generator.next() % 7)]
                withUnsafeBytes(of: length.bigEndian) {
                    for (offset, byte) in $0.enumerated() { bytes[4 + offset] = byte }
                }
            case 5 where bytes.count >= 4:  // change the type byte
                bytes[3] = UInt8(truncatingIfNeeded: generator.next())
            default:  // append another frame's bytes
                bytes += Self.corpus[Int(generator.next() % UInt64(Self.corpus.count))]
            }
        }
        return bytes
    }

    @Test("mutated frames decode, ask for more, or fail with a typed error; never trap or over-consume")
    func frames() {
        var generator = SplitMix64(seed: Self.seed)
        let limits = FrameLimits(maxPayloadBytes: 1024)
        var decoded = 0
        var failed = 0
        for iteration in 0..<Self.iterations {
            let input = Self.mutate(Self.corpus[iteration % Self.corpus.count], with: &generator)
            var buffer = ByteBuffer(bytes: input)
            while buffer.readableBytes > 0 {
                let before = buffer.readerIndex
                do {
                    guard try buffer.readFrame(limits: limits) != nil else {
                        #expect(buffer.readerIndex == before)
                        break
                    }
                    #expect(buffer.readerIndex > before)
                    decoded += 1
                } catch {
                    #expect(buffer.readerIndex == before)
                    failed += 1
                    break
                }
            }
        }
        #expect(decoded > 0)
        #expect(failed > 0)
    }

    @Test("random shard headers and bodies never make the FEC collector trap or hold more than its cap")
    func fecCollector() {
        var generator = SplitMix64(seed: Self.seed ^ 0xFEC)
        var collector = FECShardCollector(payloadBytes: 100, maxGroups: 16)
        let rounds = Self.iterations / 4
        for _ in 0..<rounds {
            let dataShards = UInt8(generator.next() % 12)
            let parityShards = UInt8(generator.next() % 5)
            let isParity = generator.next() % 3 == 0
            let header = PayloadHeader(
                sessionID: SessionID(rawValue: 1),
                offset: generator.next() % 5000,
                group: UInt32(generator.next() % 40),
                shardIndex: UInt8(generator.next() % 20),
                dataShards: dataShards,
                parityShards: parityShards,
                flags: isParity ? .parity : []
            )
            var body = ByteBuffer()
            if isParity { body.writeInteger(UInt32(generator.next() % 150)) }
            body.writeRepeatingByte(0x5A, count: Int(generator.next() % 140))
            let rebuild = isParity ? collector.parity(header, body) : collector.data(header, body)
            if let rebuild {
                #expect(rebuild.shards.count == rebuild.dataCount + rebuild.parityCount)
                #expect(rebuild.lastShardBytes <= rebuild.shardBytes)
            }
            #expect(collector.heldGroups <= 16)
            if generator.next() % 50 == 0 { collector.forget(deliveredUpTo: generator.next() % 5000) }
        }
    }
}
