import NIOCore
import TCSplitterFEC

/// `TCSplitterBenchmarks fec [--seconds S]`: Reed-Solomon throughput of ``ReedSolomonCodec``
/// against raw ISA-L (``FECRawBaseline``) on the same data, in one run.
///
/// The codec runs through its group API, the one production uses:
/// ``ReedSolomonCodec/encodeParity(group:shardBytes:into:)`` and
/// ``ReedSolomonCodec/reconstructData(group:present:shardBytes:)``: one contiguous `ByteBuffer`
/// per group in, parity appended to a reused `ByteBuffer` (cleared before each call), missing
/// data rebuilt in place. Each call still validates its input and gets its pointers from NIO.
///
/// Throughput counts data bytes (`dataShards * shardBytes`) per second, in GB/s (10^9 bytes).
/// Decode rebuilds the first `parityShards` data shards from the rest of the group.
///
/// Raw ISA-L and the codec run in alternating batches of about 2 ms until each has run `--seconds`
/// (default 0.3); each reports its best batch. Alternating makes both sides see the same
/// contention from other processes on shared cores, and the best batch filters out preemptions.
enum FECBenchmarks {
    /// One benchmarked group shape.
    struct Case {
        /// Data shards per group.
        var dataShards: Int
        /// Parity shards per group.
        var parityShards: Int
        /// Bytes per shard.
        var shardBytes: Int
    }

    /// Best-batch throughput of one case, in GB/s of data.
    struct Result {
        /// The measured case.
        var benchmarkCase: Case
        /// `ec_encode_data` on raw buffers, encoding.
        var rawEncode = 0.0
        /// Group API: ``ReedSolomonCodec/encodeParity(group:shardBytes:into:)``.
        var groupEncode = 0.0
        /// `ec_encode_data` on raw buffers with precomputed decode tables.
        var rawDecode = 0.0
        /// Group API: ``ReedSolomonCodec/reconstructData(group:present:shardBytes:)``.
        var groupDecode = 0.0
    }

    /// The measured shapes: kcptun's default 10+3 and a heavy 20+10, at MTU-sized and 64 KiB shards.
    static let cases: [Case] = [
        Case(dataShards: 10, parityShards: 3, shardBytes: 1400),
        Case(dataShards: 10, parityShards: 3, shardBytes: 65_536),
        Case(dataShards: 20, parityShards: 10, shardBytes: 1400),
        Case(dataShards: 20, parityShards: 10, shardBytes: 65_536),
    ]

    /// Entry point; returns the exit status.
    static func run(arguments: [String]) -> Int32 {
        guard let minimumSeconds = BenchmarkArguments.minimumSeconds(arguments, benchmark: "fec") else { return 2 }
        print("FEC: data GB/s, best 2 ms batch over >= \(minimumSeconds) s; decode rebuilds `parity` data shards")
        print("group = ReedSolomonCodec's one-buffer-per-group API; ratio = group / raw ISA-L")
        print(Self.header)
        for benchmarkCase in Self.cases {
            do {
                print(Self.row(try Self.measure(benchmarkCase, minimumSeconds: minimumSeconds)))
            } catch {
                print("\(benchmarkCase.dataShards)+\(benchmarkCase.parityShards): failed: \(error)")
                return 1
            }
        }
        return 0
    }

    /// Raised when raw ISA-L and the codec disagree, so a fast but wrong codec never reports a number.
    struct MismatchError: Error, CustomStringConvertible {
        /// What differed.
        var description: String
    }

    /// Measures one case: checks raw ISA-L and the codec agree, then alternates the loops.
    static func measure(_ benchmarkCase: Case, minimumSeconds: Double) throws -> Result {
        let (k, m, shardBytes) = (benchmarkCase.dataShards, benchmarkCase.parityShards, benchmarkCase.shardBytes)
        var state: UInt64 = 0x9E37_79B9_7F4A_7C15
        let payload = (0..<k).map { _ in
            (0..<shardBytes).map { _ in
                state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407  // Knuth's MMIX LCG
                return UInt8(truncatingIfNeeded: state >> 56)
            }
        }
        guard let raw = FECRawBaseline(dataShards: k, parityShards: m, shardBytes: shardBytes, data: payload) else {
            throw MismatchError(description: "raw ISA-L setup failed")
        }
        let codec = try ReedSolomonCodec(dataShards: k, parityShards: m)
        let allocator = ByteBufferAllocator()

        // Inputs: the data shards back to back, a reused parity buffer, and a damaged
        // k + m slot group whose first m data slots are zeroed and absent.
        let group = ByteBuffer(bytes: payload.joined())
        var groupParity = allocator.buffer(capacity: m * shardBytes)
        var damagedGroup = allocator.buffer(capacity: (k + m) * shardBytes)
        let present = ShardSet(m..<(k + m))

        // Correctness first: both sides must produce the same parity and rebuild the same data.
        raw.encode()
        raw.decode()
        try codec.encodeParity(group: group, shardBytes: shardBytes, into: &groupParity)
        guard Array(groupParity.readableBytesView) == Array(raw.parity.joined()) else {
            throw MismatchError(description: "group API parity differs from raw ISA-L")
        }
        guard raw.rebuiltData == Array(payload[0..<m]) else {
            throw MismatchError(description: "raw ISA-L rebuilt data differs from the original")
        }
        damagedGroup.writeRepeatingByte(0, count: m * shardBytes)
        damagedGroup.writeBytes(payload[m...].joined())
        damagedGroup.writeBuffer(&groupParity)
        try codec.reconstructData(group: &damagedGroup, present: present, shardBytes: shardBytes)
        guard damagedGroup.readableBytesView.prefix(k * shardBytes).elementsEqual(payload.joined()) else {
            throw MismatchError(description: "group API rebuilt data differs from the original")
        }

        let dataBytes = k * shardBytes
        var result = Result(benchmarkCase: benchmarkCase)
        let encode = try Self.compare(
            dataBytes, minimumSeconds,
            [
                { raw.encode() },
                {
                    groupParity.clear()
                    try codec.encodeParity(group: group, shardBytes: shardBytes, into: &groupParity)
                },
            ])
        (result.rawEncode, result.groupEncode) = (encode[0], encode[1])
        let decode = try Self.compare(
            dataBytes, minimumSeconds,
            [
                { raw.decode() },
                { try codec.reconstructData(group: &damagedGroup, present: present, shardBytes: shardBytes) },
            ])
        (result.rawDecode, result.groupDecode) = (decode[0], decode[1])

        // The timed loops must still have produced the right bytes.
        guard Array(groupParity.readableBytesView) == Array(raw.parity.joined()),
            damagedGroup.readableBytesView.prefix(k * shardBytes).elementsEqual(payload.joined())
        else {
            throw MismatchError(description: "group API output changed during the timed loops")
        }
        return result
    }

    /// Alternates ~2 ms batches of each of `bodies` (the first is raw ISA-L, which sizes the
    /// batches) until each ran `minimumSeconds`.
    ///
    /// - Returns: the best batch of each body, in GB/s of `bytesPerCall`, in the order given.
    static func compare(
        _ bytesPerCall: Int,
        _ minimumSeconds: Double,
        _ bodies: [() throws -> Void]
    ) throws -> [Double] {
        let clock = ContinuousClock()
        /// Seconds taken by `calls` calls of `body`.
        func time(_ calls: Int, _ body: () throws -> Void) throws -> Double {
            let start = clock.now
            for _ in 0..<calls {
                try body()
            }
            let elapsed = start.duration(to: clock.now).components
            return Double(elapsed.seconds) + Double(elapsed.attoseconds) * 1e-18
        }
        // Warm up caches, the allocator and the decode tables, then size batches to ~2 ms.
        for body in bodies.dropFirst() {
            _ = try time(64, body)
        }
        let callsPerBatch = max(1, Int(0.002 / max(try time(64, bodies[0]) / 64, 1e-9)))
        var best = [Double](repeating: 0, count: bodies.count)
        var total = [Double](repeating: 0, count: bodies.count)
        let bytes = Double(callsPerBatch * bytesPerCall)
        while total.contains(where: { $0 < minimumSeconds }) {
            for (index, body) in bodies.enumerated() {
                let seconds = try time(callsPerBatch, body)
                total[index] += seconds
                best[index] = max(best[index], bytes / seconds / 1e9)
            }
        }
        return best
    }

    /// Column titles of the result table.
    static let header = [
        "config", "shard B",
        "raw enc", "group enc", "ratio",
        "raw dec", "group dec", "ratio",
    ].map { Self.padded($0) }.joined()

    /// One formatted table row.
    static func row(_ result: Result) -> String {
        let benchmarkCase = result.benchmarkCase
        return [
            "\(benchmarkCase.dataShards)+\(benchmarkCase.parityShards)",
            "\(benchmarkCase.shardBytes)",
            Self.format(result.rawEncode),
            Self.format(result.groupEncode),
            Self.percent(result.groupEncode / result.rawEncode),
            Self.format(result.rawDecode),
            Self.format(result.groupDecode),
            Self.percent(result.groupDecode / result.rawDecode),
        ].map { Self.padded($0) }.joined()
    }

    /// `value` with two decimals.
    static func format(_ value: Double) -> String {
        let hundredths = Int((value * 100).rounded())
        let fraction = hundredths % 100
        return "\(hundredths / 100).\(fraction < 10 ? "0" : "")\(fraction)"
    }

    /// `ratio` as a percentage with one decimal.
    static func percent(_ ratio: Double) -> String {
        let tenths = Int((ratio * 1_000).rounded())
        return "\(tenths / 10).\(tenths % 10)%"
    }

    /// `text` right-aligned in a 10-column cell.
    static func padded(_ text: String) -> String {
        String(repeating: " ", count: max(0, 10 - text.count)) + text
    }
}
