import NIOCore
import Testing

/// A pure-Swift Reed-Solomon encoder, independent of ISA-L, computing the parity that
/// ``ReedSolomonCodec`` documents: `parity = C x data` over GF(2^8).
///
/// `C` is the parity part of ISA-L's `gf_gen_cauchy1_matrix(k + m, k)`: the coefficient for parity
/// shard `r` (matrix row `i = k + r`) and data shard `j` is `1 / (i xor j)`. The field is GF(2^8)
/// with the polynomial x^8 + x^4 + x^3 + x^2 + 1 (`0x11D`), whose element 2 generates every
/// nonzero element, so products come from logarithm tables. Slow and simple on purpose.
enum CauchyReference {
    /// `powers[e]` is 2^e for `e` in 0 ..< 510 (two periods, so a sum of two logarithms needs no modulo).
    static let powers: [UInt8] = {
        var table = [UInt8](repeating: 0, count: 510)
        var value = 1
        for exponent in 0..<510 {
            table[exponent] = UInt8(value)
            value <<= 1
            if value & 0x100 != 0 { value ^= 0x11D }
        }
        return table
    }()

    /// `logarithms[a]` is the `e` in 0 ..< 255 with 2^e = `a`, for nonzero `a` (entry 0 unused).
    static let logarithms: [Int] = {
        var table = [Int](repeating: 0, count: 256)
        for exponent in 0..<255 {
            table[Int(Self.powers[exponent])] = exponent
        }
        return table
    }()

    /// `a * b` in GF(2^8).
    static func multiply(_ a: UInt8, _ b: UInt8) -> UInt8 {
        guard a != 0, b != 0 else { return 0 }
        return Self.powers[Self.logarithms[Int(a)] + Self.logarithms[Int(b)]]
    }

    /// `1 / a` in GF(2^8); `a` must not be 0.
    static func inverse(_ a: UInt8) -> UInt8 {
        precondition(a != 0, "0 has no inverse")
        return Self.powers[255 - Self.logarithms[Int(a)]]
    }

    /// The coefficient of data shard `dataIndex` in parity shard `parityIndex` of a group with
    /// `dataShards` data shards: `1 / ((dataShards + parityIndex) xor dataIndex)`.
    static func coefficient(parityIndex: Int, dataIndex: Int, dataShards: Int) -> UInt8 {
        Self.inverse(UInt8((dataShards + parityIndex) ^ dataIndex))
    }

    /// The `parityShards` parity shards of `data` (shards of equal length), one buffer each.
    static func parity(of data: [ByteBuffer], parityShards: Int) -> [ByteBuffer] {
        let shards = data.map { Array($0.readableBytesView) }
        let shardBytes = shards.first?.count ?? 0
        return (0..<parityShards).map { parityIndex in
            var output = [UInt8](repeating: 0, count: shardBytes)
            for (dataIndex, shard) in shards.enumerated() {
                let factor = Self.coefficient(parityIndex: parityIndex, dataIndex: dataIndex, dataShards: shards.count)
                for offset in 0..<shardBytes {
                    output[offset] ^= Self.multiply(factor, shard[offset])
                }
            }
            return ByteBuffer(bytes: output)
        }
    }
}

/// The reference encoder itself, checked against the field's axioms and ISA-L's published
/// coefficients rather than against the codec it is used to check.
@Suite struct CauchyReferenceTests {
    @Test("Every nonzero element times its inverse is 1, and multiplication distributes over xor")
    func fieldAxioms() {
        #expect((1...255).allSatisfy { CauchyReference.multiply(UInt8($0), CauchyReference.inverse(UInt8($0))) == 1 })
        #expect(Set(CauchyReference.powers.prefix(255)).count == 255)  // 2 generates the group
        for (a, b, c) in [(0x53, 0xCA, 0x07), (0x02, 0x8E, 0xFF), (0x80, 0x80, 0x01)] as [(UInt8, UInt8, UInt8)] {
            let sum = CauchyReference.multiply(a, b ^ c)
            #expect(sum == CauchyReference.multiply(a, b) ^ CauchyReference.multiply(a, c))
        }
        #expect(CauchyReference.multiply(0x02, 0x80) == 0x1D)  // x^8 reduces to x^4 + x^3 + x^2 + 1
    }

    @Test("The 3+2 coefficients are rows 3 and 4 of gf_gen_cauchy1_matrix(5, 3)")
    func knownCoefficients() {
        let rows = (0..<2).map { parity in
            (0..<3).map { CauchyReference.coefficient(parityIndex: parity, dataIndex: $0, dataShards: 3) }
        }
        #expect(rows == [[0xF4, 0x8E, 0x01], [0x47, 0xA7, 0x7A]])
        // With one data shard, row 1 of the matrix is 1 / (1 xor 0) = 1: parity copies the data.
        let payload = ByteBuffer(bytes: [0x00, 0x01, 0x5A, 0xFF])
        #expect(CauchyReference.parity(of: [payload], parityShards: 1) == [payload])
    }
}
