import TCSplitterCore
import Testing

/// The FEC spread policy of `DispatcherChoice.place`: each shard of a group on its own
/// connection, a short wait for a fresh connection before two shards share one, and a bounded
/// memory of groups.
@Suite struct DispatcherSpreadTests {
    typealias Candidate = DispatcherChoice.Candidate
    static let group = DispatcherChoice.ShardGroup(session: SessionID(rawValue: 9), group: 1)

    /// `count` writable connections with serials 100, 101, …
    static func ready(_ count: Int) -> [Candidate] {
        (0..<count).map { Candidate(canCarry: true, isWritable: true, bufferedBytes: 0, serial: UInt64(100 + $0)) }
    }

    /// Places and "sends" `shards` shards of `group` on `count` connections (serials 100...),
    /// returning the serials chosen (`nil` where a shard had to wait).
    static func spread(
        _ choice: inout DispatcherChoice, shards: Int, count: Int, group: DispatcherChoice.ShardGroup = group,
        ms: Int64 = 0
    ) -> [UInt64?] {
        var placed: [UInt64?] = []
        for _ in 0..<shards {
            var candidates = Self.ready(count)
            switch choice.place(&candidates, group: group, payloadBytes: 100, now: at(ms)) {
            case .send(let index):
                choice.sent(on: candidates[index].serial, group: group)
                choice.endBurst()
                placed.append(candidates[index].serial)
            case .wait, .waitForFreshConnection:
                placed.append(nil)
            }
        }
        return placed
    }

    @Test("the shards of one group each take a different connection while there are enough")
    func spreads() {
        var choice = DispatcherChoice(burstBytes: 1 << 20)
        let placed = Self.spread(&choice, shards: 4, count: 4)
        #expect(Set(placed.compactMap { $0 }).count == 4, "\(placed)")
        #expect(choice.doubledShards == 0)
        // Another group may reuse them all.
        let other = DispatcherChoice.ShardGroup(session: SessionID(rawValue: 9), group: 2)
        #expect(!Self.spread(&choice, shards: 4, count: 4, group: other).contains(nil))
    }

    @Test(
        "with every connection carrying the group, a shard waits for a fresh one, then after the wait shares and is counted"
    )
    func waitsThenDoubles() {
        var choice = DispatcherChoice()
        _ = Self.spread(&choice, shards: 2, count: 2)
        var candidates = Self.ready(2)
        func place(_ ms: Int64) -> DispatcherChoice.Placement {
            choice.place(&candidates, group: Self.group, payloadBytes: 100, now: at(ms))
        }
        let first = place(0)
        #expect(first == .waitForFreshConnection)
        #expect(candidates.allSatisfy { $0.carriesGroup })
        let within = place(19)
        #expect(within == .waitForFreshConnection, "still within the 20 ms wait")
        guard case .send(let index) = place(20) else {
            Issue.record("no connection after the wait")
            return
        }
        choice.sent(on: candidates[index].serial, group: Self.group)
        #expect(choice.doubledShards == 1)
        // The wait is over once a shard went: the next one waits anew.
        let next = place(21)
        #expect(next == .waitForFreshConnection)
    }

    @Test("a plain payload, or none writable, is a plain wait; a plain payload never waits for a fresh connection")
    func plainWaits() {
        var choice = DispatcherChoice()
        var blocked = [Candidate(canCarry: true, isWritable: false, bufferedBytes: 0, serial: 1)]
        let shard = choice.place(&blocked, group: Self.group, payloadBytes: 10, now: at(0))
        #expect(shard == .wait)
        var open = Self.ready(1)
        let plain = choice.place(&open, group: nil, payloadBytes: 10, now: at(0))
        #expect(plain == .send(0))
    }

    @Test("the groups remembered stay bounded")
    func bounded() {
        var choice = DispatcherChoice()
        for group in 0..<1000 {
            choice.sent(
                on: 1, group: DispatcherChoice.ShardGroup(session: SessionID(rawValue: 1), group: UInt32(group)))
            #expect(choice.rememberedGroupCount <= DispatcherChoice.rememberedGroups)
        }
        #expect(choice.rememberedGroupCount >= DispatcherChoice.rememberedGroups / 2)
    }
}
