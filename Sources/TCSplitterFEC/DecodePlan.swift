/// How to rebuild the missing data shards of a group for one loss pattern.
///
/// A class so that a cache hit only bumps `lastUse` instead of copying the tables.
final class DecodePlan {
    /// The `dataShards` shard indices fed to ISA-L, ascending.
    let sourceRows: [Int]

    /// The missing data shard indices rebuilt by this plan, ascending.
    let erasedDataRows: [Int]

    /// `sourceRows` as a set, to check that no rebuilt shard overwrites a source.
    let sources: ShardSet

    /// ISA-L expanded tables (`32 * dataShards * erasedDataRows.count` bytes) from `ec_init_tables`.
    let tables: ISALTables

    /// Cache clock value of the last lookup, for least-recently-used eviction.
    var lastUse: UInt64 = 0

    /// Creates a plan from precomputed rows and tables.
    init(sourceRows: [Int], erasedDataRows: [Int], tables: ISALTables) {
        self.sourceRows = sourceRows
        self.erasedDataRows = erasedDataRows
        self.sources = ShardSet(sourceRows)
        self.tables = tables
    }

    /// Creates a plan whose tables are copied from `tables` (for tests).
    convenience init(sourceRows: [Int], erasedDataRows: [Int], tables: [UInt8]) {
        self.init(sourceRows: sourceRows, erasedDataRows: erasedDataRows, tables: ISALTables(tables))
    }
}

@available(*, unavailable)
extension DecodePlan: Sendable {}
