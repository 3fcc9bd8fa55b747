import CTCSplitterISAL
import NIOCore

/// The only file that hands pointers to Intel ISA-L.
///
/// Holds the `(k + m) x k` Cauchy encode matrix (`k` data rows of identity, then `m` parity rows),
/// the expanded parity tables, and two pointer arrays reused by every call. Callers
/// (``ReedSolomonCodec``) validate counts and sizes first; this type re-checks every count, table
/// size and shard length right before ISA-L touches the memory.
///
/// Not thread-safe: the pointer arrays are scratch space shared by all calls.
///
/// ## SSE after ISA-L
///
/// ISA-L 2.30's AVX-512 (and AVX2) kernels return without `vzeroupper`, leaving the upper
/// halves of the vector registers dirty. The first legacy-SSE instruction after that (Swift code
/// compiled for baseline x86-64 uses SSE for `Double` math, struct copies, vectorized loops and
/// popcounts) pays a state-transition stall: measured at 150–250 ns on this project's Xeon host
/// (a 10+3 group of 1,400-byte shards takes ~1 µs to encode). Raw ISA-L callers pay it too
/// wherever their next SSE instruction runs. The encode and rebuild paths of ``ReedSolomonCodec``
/// therefore stay scalar between ISA-L calls (bit loops instead of whole-set `ShardSet` algebra or
/// popcounts) so that the codec itself adds no such stall; check with `objdump` that no `xmm`
/// register appears outside error paths after changing them. Issuing `vzeroupper` after
/// `ec_encode_data` (a `static inline` function with inline assembly in the C shim, guarded by
/// an AVX CPU check) would remove the stall for every caller.
final class ISALErasureCode {
    /// Number of data shards `k` per group.
    let dataShards: Int

    /// Number of parity shards `m` per group.
    let parityShards: Int

    /// `(k + m) x k` coefficients, row-major, from `gf_gen_cauchy1_matrix`.
    private let encodeMatrix: [UInt8]

    /// `32 * k * m` bytes of `ec_init_tables` output for the `m` parity rows.
    private let encodeTables: ISALTables

    /// `k` source shard pointers passed to `ec_encode_data`.
    private let sourcePointers: UnsafeMutablePointer<UnsafeMutablePointer<UInt8>?>

    /// Up to `max(k, m)` output shard pointers passed to `ec_encode_data`.
    private let outputPointers: UnsafeMutablePointer<UnsafeMutablePointer<UInt8>?>

    /// Builds the encode matrix and tables; counts must already be validated
    /// (`1 <= k`, `0 <= m`, `k + m <= 255`).
    init(dataShards: Int, parityShards: Int) {
        let totalShards = dataShards + parityShards
        var matrix = [UInt8](repeating: 0, count: totalShards * dataShards)
        gf_gen_cauchy1_matrix(&matrix, Int32(totalShards), Int32(dataShards))
        var tables = [UInt8](repeating: 0, count: 32 * dataShards * parityShards)
        if parityShards > 0 {
            var parityRows = Array(matrix[(dataShards * dataShards)...])
            ec_init_tables(Int32(dataShards), Int32(parityShards), &parityRows, &tables)
        }
        self.dataShards = dataShards
        self.parityShards = parityShards
        self.encodeMatrix = matrix
        self.encodeTables = ISALTables(tables)
        self.sourcePointers = .allocate(capacity: dataShards)
        self.sourcePointers.initialize(repeating: nil, count: dataShards)
        let outputCapacity = max(dataShards, parityShards)
        self.outputPointers = .allocate(capacity: outputCapacity)
        self.outputPointers.initialize(repeating: nil, count: outputCapacity)
    }

    deinit {
        self.sourcePointers.deallocate()
        self.outputPointers.deallocate()
    }

    /// Inverts the encode-matrix rows `sourceRows` (`k` distinct ascending shard indices) and
    /// expands the rows that rebuild `erasedDataRows` into ISA-L tables.
    ///
    /// - Returns: the tables, or `nil` if the sub-matrix is singular (never for a Cauchy matrix).
    func makeDecodeTables(sourceRows: [Int], erasedDataRows: [Int]) -> ISALTables? {
        let k = self.dataShards
        let shardIndices = 0..<(k + self.parityShards)
        guard sourceRows.count == k, sourceRows.allSatisfy(shardIndices.contains),
            !erasedDataRows.isEmpty, erasedDataRows.allSatisfy((0..<k).contains)
        else { return nil }
        var survivors = [UInt8](repeating: 0, count: k * k)
        for (row, shardIndex) in sourceRows.enumerated() {
            survivors[(row * k)..<(row * k + k)] = self.encodeMatrix[(shardIndex * k)..<(shardIndex * k + k)]
        }
        var inverse = [UInt8](repeating: 0, count: k * k)
        guard gf_invert_matrix(&survivors, &inverse, Int32(k)) == 0 else { return nil }

        // Row `e` of the inverse turns the k surviving shards back into data shard `e`.
        var decodeMatrix = [UInt8]()
        decodeMatrix.reserveCapacity(k * erasedDataRows.count)
        for dataIndex in erasedDataRows {
            decodeMatrix.append(contentsOf: inverse[(dataIndex * k)..<(dataIndex * k + k)])
        }
        var tables = [UInt8](repeating: 0, count: 32 * k * erasedDataRows.count)
        ec_init_tables(Int32(k), Int32(erasedDataRows.count), &decodeMatrix, &tables)
        return ISALTables(tables)
    }

    /// Computes the `m` parity shards of one contiguous group, `k` data shards of `shardBytes`
    /// back to back in `group`'s readable bytes, into `output` at its writer index (capacity grown
    /// if needed), back to back, and advances `output`'s writer index past them.
    ///
    /// Pointers come from one `withVeryUnsafeMutableBytes` (the writable part of `output`; it is
    /// only written) and one `withUnsafeReadableBytes`, and are only used while both are open.
    ///
    /// - Returns: `false` (writing nothing) unless `group` holds exactly `k * shardBytes` readable
    ///   bytes and `shardBytes` fits ISA-L's `Int32` length.
    func encodeParity(group: ByteBuffer, shardBytes: Int, into output: inout ByteBuffer) -> Bool {
        let (k, m) = (self.dataShards, self.parityShards)
        guard shardBytes > 0, shardBytes <= Int(Int32.max) else { return false }
        let (dataBytes, dataOverflow) = k.multipliedReportingOverflow(by: shardBytes)
        let (parityBytes, parityOverflow) = m.multipliedReportingOverflow(by: shardBytes)
        guard !dataOverflow, !parityOverflow, group.readableBytes == dataBytes,
            self.encodeTables.count == 32 * k * m
        else { return false }
        guard m > 0 else { return true }
        if output.writableBytes < parityBytes {
            output.reserveCapacity(minimumWritableBytes: parityBytes)
        }
        let start = output.writerIndex
        // NIO copies `output` first if another buffer shares its storage, so ISA-L never writes
        // bytes that anyone else can see, and `output` and `group` are distinct memory.
        let written = output.withVeryUnsafeMutableBytes { storage -> Bool in
            guard start >= 0, start <= storage.count, storage.count - start >= parityBytes,
                var target = storage.baseAddress?.assumingMemoryBound(to: UInt8.self).advanced(by: start)
            else { return false }
            return group.withUnsafeReadableBytes { readable -> Bool in
                guard readable.count == dataBytes,
                    var source = readable.baseAddress?.assumingMemoryBound(to: UInt8.self)
                else { return false }
                // Whole shards, back to back: sources inside `readable`, outputs inside the
                // `parityBytes` checked above.
                for row in 0..<k {
                    self.sourcePointers[row] = UnsafeMutablePointer(mutating: source)
                    source += shardBytes
                }
                for row in 0..<m {
                    self.outputPointers[row] = target
                    target += shardBytes
                }
                ec_encode_data(
                    Int32(shardBytes),
                    Int32(k),
                    Int32(m),
                    self.encodeTables.bytes,
                    self.sourcePointers,
                    self.outputPointers
                )
                return true
            }
        }
        if written {
            output.moveWriterIndex(to: start + parityBytes)
        }
        return written
    }

    /// Rebuilds `plan.erasedDataRows` in place inside one contiguous group: `k + m` slots of
    /// `shardBytes` back to back in `group`'s readable bytes, read from the slots `plan.sourceRows`.
    ///
    /// Pointers come from one `withUnsafeMutableReadableBytes` and are only used inside it.
    ///
    /// - Returns: `false` (writing nothing) unless `group` holds exactly `(k + m) * shardBytes`
    ///   readable bytes, and the plan reads `k` slots and writes others, all inside the group.
    func reconstruct(group: inout ByteBuffer, plan: DecodePlan, shardBytes: Int) -> Bool {
        let k = self.dataShards
        let totalShards = k + self.parityShards
        let sourceRows = plan.sourceRows
        let erasedRows = plan.erasedDataRows
        let outputRows = erasedRows.count
        guard shardBytes > 0, shardBytes <= Int(Int32.max) else { return false }
        let (groupBytes, overflow) = totalShards.multipliedReportingOverflow(by: shardBytes)
        guard !overflow, group.readableBytes == groupBytes, sourceRows.count == k,
            outputRows > 0, outputRows <= max(k, self.parityShards), plan.tables.count == 32 * k * outputRows
        else { return false }
        return group.withUnsafeMutableReadableBytes { bytes -> Bool in
            guard bytes.count == groupBytes,
                let base = bytes.baseAddress?.assumingMemoryBound(to: UInt8.self)
            else { return false }
            // Every slot lies inside `bytes`, and no output is also a source (ISA-L must not
            // read what it writes).
            for (index, row) in sourceRows.enumerated() {
                guard row >= 0, row < totalShards else { return false }
                self.sourcePointers[index] = base + row * shardBytes
            }
            for (index, row) in erasedRows.enumerated() {
                guard row >= 0, row < totalShards, !plan.sources.contains(row) else { return false }
                self.outputPointers[index] = base + row * shardBytes
            }
            ec_encode_data(
                Int32(shardBytes),
                Int32(k),
                Int32(outputRows),
                plan.tables.bytes,
                self.sourcePointers,
                self.outputPointers
            )
            return true
        }
    }
}

@available(*, unavailable)
extension ISALErasureCode: Sendable {}

/// ISA-L expanded tables (`ec_init_tables` output) in 64-byte aligned memory, immutable once built.
///
/// ISA-L reloads every 32-byte table entry for each 64-byte chunk of every shard, so where the
/// tables sit matters: in a Swift array (16 bytes past a 16-byte aligned allocation) they span one
/// more cache line than needed and, measured at 10+3 x 1,400 B, cost 2-5% more than 64-byte
/// aligned tables, depending on their page offset relative to the shards.
final class ISALTables {
    /// Number of table bytes.
    let count: Int

    /// The tables; read by ISA-L only, never written after `init`.
    fileprivate let bytes: UnsafeMutablePointer<UInt8>

    /// Copies `tables` into fresh 64-byte aligned memory.
    init(_ tables: [UInt8]) {
        self.count = tables.count
        let raw = UnsafeMutableRawPointer.allocate(byteCount: max(1, tables.count), alignment: 64)
        self.bytes = raw.bindMemory(to: UInt8.self, capacity: max(1, tables.count))
        self.bytes.initialize(repeating: 0, count: max(1, tables.count))
        tables.withUnsafeBufferPointer { source in
            if let base = source.baseAddress {
                self.bytes.update(from: base, count: source.count)
            }
        }
    }

    deinit {
        self.bytes.deallocate()
    }
}

@available(*, unavailable)
extension ISALTables: Sendable {}
