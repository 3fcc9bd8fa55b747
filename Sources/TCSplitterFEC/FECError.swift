/// Errors raised by ``ReedSolomonCodec``.
///
/// Every case names the broken rule and carries the offending values, so a caller can log it and
/// drop the group (or close the connection) without ever trusting the bad input.
public enum FECError: Error, Hashable, Sendable {
    /// The data shard count is below 1.
    case invalidDataShardCount(Int)

    /// The parity shard count is negative.
    case invalidParityShardCount(Int)

    /// `dataShards + parityShards` exceeds ``ReedSolomonCodec/maximumTotalShards``.
    case tooManyShards(total: Int, maximum: Int)

    /// The shard size is below 1 byte or above ``ReedSolomonCodec/maximumShardBytes``.
    case invalidShardSize(bytes: Int)

    /// Fewer than `required` shards are present, so the data cannot be rebuilt.
    case unrecoverable(present: Int, required: Int)

    /// A group buffer does not have exactly `expected` readable bytes
    /// (`shardBytes` times the number of shard slots it must hold).
    case wrongGroupLength(expected: Int, actual: Int)

    /// A set of present shards names `index`, which is not below the group's `totalShards`.
    case shardIndexOutOfRange(index: Int, totalShards: Int)
}
