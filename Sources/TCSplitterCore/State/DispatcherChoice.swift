import NIOCore

/// Picks the data connection for the next payload.
///
/// As the older tcp-striper did, payloads go to connections that can take data now: a connection
/// whose send buffer is backing up (not writable: its socket is congested or policed) gets no new
/// payload while another can take it. Among the writable ones the least-buffered wins, ties going
/// round-robin so every connection carries its share. A connection of a worse `rank` (a fling
/// connection while lasso connections carry downstream) is taken only while no connection of a
/// better rank can carry at all (none is up, or all spent their budget): a merely congested better
/// one makes the payload wait for it. A connection that already carries a shard of
/// the payload's FEC group is never taken while another connection that can carry does not: the
/// shard waits for it to become writable, so one dead connection costs a group at most one shard
/// whenever there are at least `data + parity` connections. The choice remembers which
/// connections carried shards of recent groups (`place(_:group:payloadBytes:now:)`),
/// and lets a shard share a connection with its group only after waiting `freshConnectionWait`
/// for a fresh one (one is normally being dialed).
///
/// Within one drain (the payloads written before a flush) a chosen connection keeps taking the
/// next payloads, up to `burstBytes`, while it stays writable and of the best rank, and carries no
/// shard of the payload's FEC group: one larger write per connection instead of one per payload. Where every
/// send buffer drains at once (loopback, a fast LAN) the least-buffered rule alone would deal
/// 10,000-byte payloads out one by one, a system call and a short TCP send each.
public struct DispatcherChoice: Sendable {
    /// What the dispatcher knows of one connection.
    public struct Candidate: Hashable, Sendable {
        /// Whether the connection can carry another payload at all (ready, budget left).
        public var canCarry: Bool
        /// Whether its send buffer is below the high-water mark.
        public var isWritable: Bool
        /// Bytes written to it and not yet taken by the kernel.
        public var bufferedBytes: Int
        /// Whether it already carries a shard of this payload's FEC group.
        public var carriesGroup: Bool
        /// The preference for this kind of connection: lower is taken first.
        public var rank: Int
        /// The connection's serial: what the FEC spread remembers of it (`place`).
        public var serial: UInt64

        /// A candidate from its state.
        public init(
            canCarry: Bool, isWritable: Bool, bufferedBytes: Int, carriesGroup: Bool = false, rank: Int = 0,
            serial: UInt64 = 0
        ) {
            self.canCarry = canCarry
            self.isWritable = isWritable
            self.bufferedBytes = bufferedBytes
            self.carriesGroup = carriesGroup
            self.rank = rank
            self.serial = serial
        }
    }

    /// One session's FEC group: the unit whose shards should each ride a different connection.
    public struct ShardGroup: Hashable, Sendable {
        public var session: SessionID
        public var group: UInt32

        public init(session: SessionID, group: UInt32) {
            self.session = session
            self.group = group
        }
    }

    /// What to do with the next payload.
    public enum Placement: Hashable, Sendable {
        /// Send it on the candidate at this index.
        case send(Int)
        /// No connection can take it now; it waits for one to become writable.
        case wait
        /// Only connections that carry its group could take it: it waits for a fresh connection,
        /// at most `freshConnectionWait` (drain again then).
        case waitForFreshConnection
    }

    /// How long a shard waits for a fresh connection before it may share one with its group.
    public static let freshConnectionWait: TimeAmount = .milliseconds(20)
    /// Groups remembered (the oldest half is forgotten past this).
    public static let rememberedGroups = 256

    private var cursor = 0
    /// The connections (by serial) that carried shards of recent groups, oldest group first.
    private var groupCarriers: [ShardGroup: Set<UInt64>] = [:]
    private var groupOrder: [ShardGroup] = []
    /// Since when the head shard waits for a connection that does not carry its group.
    private var freshConnectionWaitSince: NIODeadline?
    /// FEC shards placed on a connection that already carried a shard of their group.
    public private(set) var doubledShards = 0
    /// Bytes one connection may take in a row within a drain (0: every payload chooses anew).
    public var burstBytes: Int
    /// The connection taking the current burst, and the bytes it took.
    private var burst: (index: Int, bytes: Int)?

    /// A dispatcher with no history.
    public init(burstBytes: Int = 0) {
        self.burstBytes = max(0, burstBytes)
    }

    /// A drain ended (its writes were flushed): the next payload chooses anew.
    public mutating func endBurst() {
        self.burst = nil
    }

    /// The index of the connection to use, or `nil` when none can take a payload now (the payload
    /// waits until one becomes writable). Without `allowDoubling` a shard never goes to a
    /// connection that already carries its group (it waits for a fresh connection).
    public mutating func choose(_ candidates: [Candidate], allowDoubling: Bool = true, payloadBytes: Int = 0) -> Int? {
        guard !candidates.isEmpty else { return nil }
        // Only the best rank that has a connection able to carry competes.
        guard let rank = candidates.lazy.filter(\.canCarry).map(\.rank).min() else { return nil }
        if self.burstBytes > 0, let burst = self.burst, burst.index < candidates.count,
            burst.bytes + payloadBytes <= self.burstBytes
        {
            let candidate = candidates[burst.index]
            if candidate.canCarry, candidate.isWritable, candidate.rank == rank, !candidate.carriesGroup {
                self.burst = (burst.index, burst.bytes + payloadBytes)
                return burst.index
            }
        }
        var best: Int? = nil
        var bestKey = (2, Int.max)
        let count = candidates.count
        let start = self.cursor % count
        for step in 0..<count {
            let index = (start + step) % count
            let candidate = candidates[index]
            guard candidate.canCarry, candidate.isWritable, candidate.rank == rank else { continue }
            let key = (candidate.carriesGroup ? 1 : 0, candidate.bufferedBytes)
            if key < bestKey {
                best = index
                bestKey = key
            }
        }
        // A shard waits for a connection without its group (one is only busy) rather than
        // doubling up; only when every carrier already holds the group may one take a second.
        if let chosen = best, candidates[chosen].carriesGroup,
            !allowDoubling || candidates.contains(where: { $0.canCarry && $0.rank == rank && !$0.carriesGroup })
        {
            return nil
        }
        if let best {
            self.cursor = best + 1
            self.burst = (best, payloadBytes)
        }
        return best
    }

    /// Places the next payload among `candidates` (their `carriesGroup` is set here from the
    /// connections' serials and the payload's FEC `group`). `now` is read only while
    /// a shard waits for a fresh connection.
    public mutating func place(
        _ candidates: inout [Candidate], group: ShardGroup?, payloadBytes: Int,
        now: @autoclosure () -> NIODeadline
    ) -> Placement {
        let used = group.flatMap { self.groupCarriers[$0] } ?? []
        for index in candidates.indices {
            candidates[index].carriesGroup = !used.isEmpty && used.contains(candidates[index].serial)
        }
        let allowDoubling = self.freshConnectionWaitSince.map { now() - $0 >= Self.freshConnectionWait } ?? false
        if let index = self.choose(candidates, allowDoubling: allowDoubling, payloadBytes: payloadBytes) {
            return .send(index)
        }
        // Only the group rule held it back: wait a little for a fresh connection.
        guard group != nil, candidates.contains(where: { $0.canCarry && $0.isWritable }) else { return .wait }
        if self.freshConnectionWaitSince == nil { self.freshConnectionWaitSince = now() }
        return .waitForFreshConnection
    }

    /// The payload placed was sent on connection `carrier` (`group`: its FEC group, `nil` for a
    /// plain payload or one whose session ended). Ends a wait for a fresh connection.
    public mutating func sent(on carrier: UInt64, group: ShardGroup?) {
        self.freshConnectionWaitSince = nil
        guard let group else { return }
        if self.groupCarriers[group] == nil {
            self.groupOrder.append(group)
            if self.groupOrder.count > Self.rememberedGroups {
                let forgotten = self.groupOrder.prefix(Self.rememberedGroups / 2)
                self.groupOrder.removeFirst(Self.rememberedGroups / 2)
                for old in forgotten { self.groupCarriers.removeValue(forKey: old) }
            }
        }
        if !self.groupCarriers[group, default: []].insert(carrier).inserted { self.doubledShards += 1 }
    }

    /// Groups remembered now (bounded by `rememberedGroups`).
    public var rememberedGroupCount: Int { self.groupCarriers.count }
}
