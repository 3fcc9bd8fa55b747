import NIOCore

// One FEC group: k = dataShards data shards, then m = parityShards parity shards.
// Every shard is exactly `shardBytes` long (the sender pads the last data shard).
//
//   index:  0          1                k-1        k          k+1              k+m-1
//         +----------+----------+-...-+----------+----------+----------+-...-+----------+
//         |  data 0  |  data 1  |     | data k-1 | parity 0 | parity 1 |     |parity m-1|
//         +----------+----------+-...-+----------+----------+----------+-...-+----------+
//         |<---------- k data shards ----------->|<--------- m parity shards ---------->|
//
//   encode:  parity = C x data         C: m x k Cauchy matrix (ISA-L gf_gen_cauchy1_matrix),
//                                      so every k x k sub-matrix of [ I ; C ] is invertible.
//   decode:  any k of the k + m shards present
//            -> invert those k rows of [ I ; C ] (gf_invert_matrix, cached per loss pattern)
//            -> rows of the inverse for the missing data shards x present shards = missing data.
//   k + m <= 255, m may be 0 (then every data shard must arrive).

/// Systematic Reed-Solomon erasure code over GF(2^8), computed by Intel ISA-L.
///
/// Create one codec per `(dataShards, parityShards)` pair and reuse it: the encode matrix and
/// tables are built once in `init`, and decode tables are cached per loss pattern (bounded, LRU).
///
/// One API, on whole groups: ``encodeParity(group:shardBytes:into:)`` and
/// ``reconstructData(group:present:shardBytes:)``. A group's shards lie back to back in one
/// `ByteBuffer`, parity goes into a buffer the caller reuses, and missing data is rebuilt in
/// place: no per-call allocation or array building, within ~10% of raw ISA-L even at 1,400-byte
/// shards. (A per-shard `[ByteBuffer]` API was removed: its per-call allocations cost 30-50% at
/// MTU-sized shards, and only tests and benchmarks used it.)
///
/// Not `Sendable`: use one codec from one event loop (it keeps scratch space and a cache).
public final class ReedSolomonCodec {
    /// Largest `dataShards + parityShards` a group may have (indices must fit GF(2^8)).
    public static let maximumTotalShards = 255

    /// Largest shard size in bytes accepted by every encode and rebuild call (16 MiB; keeps a
    /// group's outputs in one `ByteBuffer`).
    public static let maximumShardBytes = 1 << 24

    /// Decode plans kept per codec before the least recently used one is dropped.
    static let decodeCacheCapacity = 64

    /// Number of data shards per group.
    public let dataShards: Int

    /// Number of parity shards per group.
    public let parityShards: Int

    /// The ISA-L matrices, tables and pointer scratch space.
    private let erasureCode: ISALErasureCode

    /// Decode plans by the set of shards they read.
    private var decodeCache = DecodeTableCache(capacity: ReedSolomonCodec.decodeCacheCapacity)

    /// Creates a codec for groups of `dataShards` data and `parityShards` parity shards.
    ///
    /// - Throws: ``FECError/invalidDataShardCount(_:)`` if `dataShards < 1`,
    ///   ``FECError/invalidParityShardCount(_:)`` if `parityShards < 0`, and
    ///   ``FECError/tooManyShards(total:maximum:)`` if the sum exceeds ``maximumTotalShards``.
    public init(dataShards: Int, parityShards: Int) throws(FECError) {
        guard dataShards >= 1 else { throw .invalidDataShardCount(dataShards) }
        guard parityShards >= 0 else { throw .invalidParityShardCount(parityShards) }
        let (total, overflow) = dataShards.addingReportingOverflow(parityShards)
        guard !overflow, total <= Self.maximumTotalShards else {
            throw .tooManyShards(total: overflow ? Int.max : total, maximum: Self.maximumTotalShards)
        }
        self.dataShards = dataShards
        self.parityShards = parityShards
        self.erasureCode = ISALErasureCode(dataShards: dataShards, parityShards: parityShards)
    }

    /// Total shards per group, `dataShards + parityShards`.
    public var totalShards: Int { self.dataShards + self.parityShards }

    /// Number of loss patterns whose decode tables are cached (for tests and diagnostics).
    var cachedPatternCount: Int { self.decodeCache.count }

    /// Rebuilds answered from cached decode tables (for tests and diagnostics).
    var decodeCacheHits: Int { self.decodeCache.hits }

    /// Rebuilds that had to invert a matrix (for tests and diagnostics).
    var decodeCacheMisses: Int { self.decodeCache.misses }

    // MARK: - Encoding and rebuilding groups
    //
    // The caller packs one group into one buffer, so pointers come from a single
    // `withUnsafe…Bytes` call per buffer plus offsets, and no array of shards is built or returned.
    // Keep these paths scalar between ISA-L calls: see "SSE after ISA-L" in ISALErasureCode.
    //
    //   group:  | slot 0 | slot 1 | ... | slot k-1 | slot k | ... | slot k+m-1 |   each `shardBytes`
    //           |<-------- data (encode input) -------->|<------ parity ------>|
    //   encode reads slots 0 ..< k from `group` and appends m parity slots to `parity`;
    //   decode reads the present slots of a k+m slot `group` and rebuilds missing data slots in place.

    /// Computes the parity shards of one group whose data shards lie back to back in one buffer.
    ///
    /// Allocates nothing when `parity` is uniquely referenced and already has room: clear it (or
    /// move its writer index back) and pass it again for the next group. If slices of an earlier
    /// parity are still alive, NIO copies `parity` before writing, so those slices keep their bytes.
    ///
    /// - Parameters:
    ///   - data: exactly ``dataShards`` × `shardBytes` readable bytes: data shard `i` is bytes
    ///     `i * shardBytes ..< (i + 1) * shardBytes` of the readable region (the caller pads).
    ///   - shardBytes: the size of every shard, 1 ... ``maximumShardBytes``.
    ///   - parity: receives ``parityShards`` × `shardBytes` bytes at its writer index, parity shard
    ///     `j` at offset `j * shardBytes`; its writer index moves past them (capacity grows if
    ///     needed). Untouched when `parityShards == 0` or when an error is thrown.
    /// - Throws: ``FECError/invalidShardSize(bytes:)`` or ``FECError/wrongGroupLength(expected:actual:)``.
    public func encodeParity(group data: ByteBuffer, shardBytes: Int, into parity: inout ByteBuffer) throws(FECError) {
        try Self.validate(shardBytes: shardBytes)
        let dataBytes = self.dataShards * shardBytes  // <= 255 * 2^24: no overflow
        guard data.readableBytes == dataBytes else {
            throw .wrongGroupLength(expected: dataBytes, actual: data.readableBytes)
        }
        guard self.erasureCode.encodeParity(group: data, shardBytes: shardBytes, into: &parity) else {
            // Unreachable after the checks above; report it rather than leave garbage.
            throw .wrongGroupLength(expected: dataBytes, actual: data.readableBytes)
        }
    }

    /// Rebuilds, in place, the missing data shards of one group whose shard slots lie back to back
    /// in one buffer, from any ``dataShards`` present shards.
    ///
    /// Reads only the slots in `present` and writes only the missing data slots; missing parity
    /// slots are left as they are. Allocates nothing when `shards` is uniquely referenced (if
    /// slices of it are alive, NIO copies it before writing). When every data slot is present,
    /// nothing is written.
    ///
    /// - Parameters:
    ///   - shards: exactly ``totalShards`` × `shardBytes` readable bytes: slot `i` (data, then
    ///     parity) is bytes `i * shardBytes ..< (i + 1) * shardBytes` of the readable region. On
    ///     return every data slot holds its data shard; reader and writer indices are unchanged.
    ///   - present: the slots that hold a shard; every index must be below ``totalShards``.
    ///   - shardBytes: the size of every shard, 1 ... ``maximumShardBytes``.
    /// - Throws: ``FECError/invalidShardSize(bytes:)``, ``FECError/wrongGroupLength(expected:actual:)``,
    ///   ``FECError/shardIndexOutOfRange(index:totalShards:)``, or
    ///   ``FECError/unrecoverable(present:required:)`` if fewer than ``dataShards`` slots are present.
    public func reconstructData(group shards: inout ByteBuffer, present: ShardSet, shardBytes: Int) throws(FECError) {
        try Self.validate(shardBytes: shardBytes)
        let groupBytes = self.totalShards * shardBytes  // <= 255 * 2^24: no overflow
        guard shards.readableBytes == groupBytes else {
            throw .wrongGroupLength(expected: groupBytes, actual: shards.readableBytes)
        }
        if let highest = present.maximum, highest >= self.totalShards {
            throw .shardIndexOutOfRange(index: highest, totalShards: self.totalShards)
        }
        // Read the first `dataShards` present shards: the present data shards, then the first
        // present parity shards (so equal loss patterns share one cached decode plan).
        let (sources, sourceCount, largestSource) = present.smallest(self.dataShards)
        guard sourceCount == self.dataShards else {
            throw .unrecoverable(present: sourceCount, required: self.dataShards)
        }
        // The first k present slots are all below k only if every data slot is present.
        guard largestSource >= self.dataShards else { return }
        guard let plan = self.decodePlan(for: sources),
            self.erasureCode.reconstruct(group: &shards, plan: plan, shardBytes: shardBytes)
        else {
            // Unreachable after the checks above; report it rather than return garbage.
            throw .unrecoverable(present: present.count, required: self.dataShards)
        }
    }

    /// Returns the cached plan for `sources`, or inverts the matrix and caches a new one
    /// (`nil` if the sub-matrix were singular, which a Cauchy matrix never is).
    private func decodePlan(for sources: ShardSet) -> DecodePlan? {
        if let plan = self.decodeCache.plan(for: sources) {
            return plan
        }
        let sourceRows = (0..<self.totalShards).filter { sources.contains($0) }
        let erasedDataRows = (0..<self.dataShards).filter { !sources.contains($0) }
        guard
            let tables = self.erasureCode.makeDecodeTables(sourceRows: sourceRows, erasedDataRows: erasedDataRows)
        else { return nil }
        let plan = DecodePlan(sourceRows: sourceRows, erasedDataRows: erasedDataRows, tables: tables)
        self.decodeCache.insert(plan, for: sources)
        return plan
    }

    /// Throws unless `shardBytes` is within 1 ... ``maximumShardBytes``.
    private static func validate(shardBytes: Int) throws(FECError) {
        guard shardBytes >= 1, shardBytes <= Self.maximumShardBytes else {
            throw .invalidShardSize(bytes: shardBytes)
        }
    }
}

@available(*, unavailable)
extension ReedSolomonCodec: Sendable {}
