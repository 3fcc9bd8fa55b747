import CTCSplitterISAL

/// Raw ISA-L on preallocated `malloc`ed shards: the speed limit ``ReedSolomonCodec`` is measured against.
///
/// Builds the same Cauchy matrix as the codec, encode tables for the parity rows, and decode
/// tables for losing the first `parityShards` data shards (rebuilt from the remaining data plus
/// every parity shard). `encode()` and `decode()` are a single `ec_encode_data` call each.
final class FECRawBaseline {
    /// Data shards per group, `k`.
    let dataShards: Int
    /// Parity shards per group, `m` (at least 1).
    let parityShards: Int
    /// Bytes per shard.
    let shardBytes: Int
    /// All `k + m` shards, data then parity, each `shardBytes` long.
    private let shards: [UnsafeMutablePointer<UInt8>]
    /// Shards rebuilt by `decode()`, `m` of them.
    private let rebuilt: [UnsafeMutablePointer<UInt8>]
    /// `ec_encode_data` sources for encoding: the data shards.
    private let encodeSources: UnsafeMutablePointer<UnsafeMutablePointer<UInt8>?>
    /// `ec_encode_data` outputs for encoding: the parity shards.
    private let encodeOutputs: UnsafeMutablePointer<UnsafeMutablePointer<UInt8>?>
    /// `ec_encode_data` sources for decoding: data shards `m ..< k` then every parity shard.
    private let decodeSources: UnsafeMutablePointer<UnsafeMutablePointer<UInt8>?>
    /// `ec_encode_data` outputs for decoding: `rebuilt`.
    private let decodeOutputs: UnsafeMutablePointer<UnsafeMutablePointer<UInt8>?>
    /// Expanded parity-row tables.
    private let encodeTables: UnsafeMutablePointer<UInt8>
    /// Expanded tables rebuilding data shards `0 ..< m`.
    private let decodeTables: UnsafeMutablePointer<UInt8>

    /// Allocates every buffer and table for `dataShards + parityShards` shards of `shardBytes`,
    /// filling the data shards with `data` (`dataShards` arrays of `shardBytes` bytes).
    init?(dataShards k: Int, parityShards m: Int, shardBytes: Int, data: [[UInt8]]) {
        guard k >= m, m >= 1, k + m <= 255, data.count == k, data.allSatisfy({ $0.count == shardBytes }) else {
            return nil
        }
        self.dataShards = k
        self.parityShards = m
        self.shardBytes = shardBytes
        self.shards = (0..<(k + m)).map { index in
            let shard = UnsafeMutablePointer<UInt8>.allocate(capacity: shardBytes)
            shard.initialize(repeating: 0, count: shardBytes)
            if index < k {
                shard.update(from: data[index], count: shardBytes)
            }
            return shard
        }
        self.rebuilt = (0..<m).map { _ in
            let shard = UnsafeMutablePointer<UInt8>.allocate(capacity: shardBytes)
            shard.initialize(repeating: 0, count: shardBytes)
            return shard
        }
        func pointerArray(
            _ pointers: [UnsafeMutablePointer<UInt8>]
        ) -> UnsafeMutablePointer<UnsafeMutablePointer<UInt8>?> {
            let array = UnsafeMutablePointer<UnsafeMutablePointer<UInt8>?>.allocate(capacity: pointers.count)
            array.initialize(from: pointers.map { Optional($0) }, count: pointers.count)
            return array
        }
        self.encodeSources = pointerArray(Array(self.shards[0..<k]))
        self.encodeOutputs = pointerArray(Array(self.shards[k...]))
        self.decodeSources = pointerArray(Array(self.shards[m...]))
        self.decodeOutputs = pointerArray(self.rebuilt)

        var matrix = [UInt8](repeating: 0, count: (k + m) * k)
        gf_gen_cauchy1_matrix(&matrix, Int32(k + m), Int32(k))
        self.encodeTables = .allocate(capacity: 32 * k * m)
        self.encodeTables.initialize(repeating: 0, count: 32 * k * m)
        var parityRows = Array(matrix[(k * k)...])
        ec_init_tables(Int32(k), Int32(m), &parityRows, self.encodeTables)

        var survivors = Array(matrix[(m * k)...])
        var inverse = [UInt8](repeating: 0, count: k * k)
        guard gf_invert_matrix(&survivors, &inverse, Int32(k)) == 0 else { return nil }
        var decodeRows = Array(inverse[0..<(m * k)])
        self.decodeTables = .allocate(capacity: 32 * k * m)
        self.decodeTables.initialize(repeating: 0, count: 32 * k * m)
        ec_init_tables(Int32(k), Int32(m), &decodeRows, self.decodeTables)
    }

    deinit {
        for shard in self.shards + self.rebuilt {
            shard.deallocate()
        }
        for array in [self.encodeSources, self.encodeOutputs, self.decodeSources, self.decodeOutputs] {
            array.deallocate()
        }
        self.encodeTables.deallocate()
        self.decodeTables.deallocate()
    }

    /// Computes the parity shards from the data shards.
    func encode() {
        ec_encode_data(
            Int32(self.shardBytes),
            Int32(self.dataShards),
            Int32(self.parityShards),
            self.encodeTables,
            self.encodeSources,
            self.encodeOutputs
        )
    }

    /// Rebuilds data shards `0 ..< m` from the other shards.
    func decode() {
        ec_encode_data(
            Int32(self.shardBytes),
            Int32(self.dataShards),
            Int32(self.parityShards),
            self.decodeTables,
            self.decodeSources,
            self.decodeOutputs
        )
    }

    /// The parity shards as byte arrays (valid after `encode()`).
    var parity: [[UInt8]] {
        self.shards[self.dataShards...].map { Array(UnsafeBufferPointer(start: $0, count: self.shardBytes)) }
    }

    /// The rebuilt data shards `0 ..< m` as byte arrays (valid after `decode()`).
    var rebuiltData: [[UInt8]] {
        self.rebuilt.map { Array(UnsafeBufferPointer(start: $0, count: self.shardBytes)) }
    }
}

@available(*, unavailable)
extension FECRawBaseline: Sendable {}
