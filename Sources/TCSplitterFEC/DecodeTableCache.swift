/// A bounded least-recently-used cache of ``DecodePlan``s keyed by the shards used to rebuild.
///
/// Inverting a `dataShards x dataShards` matrix and expanding its tables costs far more than
/// rebuilding one small group, while real links repeat a few loss patterns; so plans are kept,
/// and past `capacity` the least recently used plan is dropped (a linear scan, paid only on a miss).
struct DecodeTableCache {
    /// Maximum number of plans kept.
    let capacity: Int

    /// Plans by the set of shard indices they read.
    private var plans: [ShardSet: DecodePlan] = [:]

    /// The key of the last plan looked up or inserted; a link usually repeats its loss pattern.
    private var lastSources: ShardSet?

    /// The last plan looked up or inserted, answered without hashing.
    private var lastPlan: DecodePlan?

    /// Monotonic lookup counter that stamps ``DecodePlan/lastUse``.
    private var clock: UInt64 = 0

    /// Lookups answered from the cache (for tests and diagnostics).
    private(set) var hits = 0

    /// Lookups that found no plan (for tests and diagnostics).
    private(set) var misses = 0

    /// Creates an empty cache holding at most `capacity` plans (at least one).
    init(capacity: Int) {
        self.capacity = max(1, capacity)
    }

    /// Number of plans currently cached.
    var count: Int { self.plans.count }

    /// Returns the plan for `sources` and marks it as recently used, or `nil` on a miss.
    mutating func plan(for sources: ShardSet) -> DecodePlan? {
        self.clock &+= 1
        if sources == self.lastSources, let plan = self.lastPlan {
            self.hits += 1
            plan.lastUse = self.clock
            return plan
        }
        guard let plan = self.plans[sources] else {
            self.misses += 1
            return nil
        }
        self.hits += 1
        plan.lastUse = self.clock
        (self.lastSources, self.lastPlan) = (sources, plan)
        return plan
    }

    /// Stores `plan` for `sources`, evicting the least recently used plan when full.
    mutating func insert(_ plan: DecodePlan, for sources: ShardSet) {
        if self.plans[sources] == nil, self.plans.count >= self.capacity {
            var oldestKey: ShardSet?
            var oldestUse = UInt64.max
            for (key, cached) in self.plans where cached.lastUse < oldestUse {
                oldestUse = cached.lastUse
                oldestKey = key
            }
            if let oldestKey {
                self.plans.removeValue(forKey: oldestKey)
            }
        }
        plan.lastUse = self.clock
        self.plans[sources] = plan
        (self.lastSources, self.lastPlan) = (sources, plan)
    }
}
