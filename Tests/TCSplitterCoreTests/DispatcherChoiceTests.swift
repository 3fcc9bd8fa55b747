import TCSplitterCore
import Testing

/// Which data connection carries the next payload.
@Suite struct DispatcherChoiceTests {
    typealias Candidate = DispatcherChoice.Candidate

    static func ready(_ buffered: Int = 0) -> Candidate {
        Candidate(canCarry: true, isWritable: true, bufferedBytes: buffered)
    }

    @Test("no connections, no choice")
    func empty() {
        var dispatcher = DispatcherChoice()
        #expect(dispatcher.choose([]) == nil)
    }

    @Test("a connection that is not writable or cannot carry is never chosen, even if it is the only one")
    func ineligible() {
        var dispatcher = DispatcherChoice()
        let blocked = Candidate(canCarry: true, isWritable: false, bufferedBytes: 0)
        let spent = Candidate(canCarry: false, isWritable: true, bufferedBytes: 0)
        #expect(dispatcher.choose([blocked]) == nil)
        #expect(dispatcher.choose([spent]) == nil)
        #expect(dispatcher.choose([blocked, spent, blocked]) == nil)
        #expect(dispatcher.choose([blocked, spent, Self.ready(1 << 20)]) == 2)
    }

    @Test("the least-buffered writable connection wins, whatever the blocked ones hold")
    func leastBuffered() {
        var dispatcher = DispatcherChoice()
        let candidates = [
            Self.ready(5000), Candidate(canCarry: true, isWritable: false, bufferedBytes: 0), Self.ready(100),
            Self.ready(700),
        ]
        for _ in 0..<5 {
            #expect(dispatcher.choose(candidates) == 2)
        }
    }

    @Test("equal connections take turns")
    func roundRobin() {
        var dispatcher = DispatcherChoice()
        let candidates = Array(repeating: Self.ready(), count: 3)
        let picks = (0..<7).map { _ in dispatcher.choose(candidates) }
        #expect(picks == [0, 1, 2, 0, 1, 2, 0])
    }

    @Test("turns skip connections that cannot take a payload")
    func roundRobinSkips() {
        var dispatcher = DispatcherChoice()
        let candidates = [
            Self.ready(), Candidate(canCarry: false, isWritable: true, bufferedBytes: 0), Self.ready(), Self.ready(),
        ]
        let picks = (0..<6).map { _ in dispatcher.choose(candidates) }
        #expect(picks == [0, 2, 3, 0, 2, 3])
    }

    @Test("over many payloads every equal connection carries the same share")
    func fairShare() {
        var dispatcher = DispatcherChoice()
        var counts = [0, 0, 0, 0, 0]
        for _ in 0..<500 {
            if let index = dispatcher.choose(Array(repeating: Self.ready(10), count: 5)) { counts[index] += 1 }
        }
        #expect(counts == [100, 100, 100, 100, 100])
    }

    @Test("a pool that shrinks between calls still gets a valid index")
    func shrinkingPool() {
        var dispatcher = DispatcherChoice()
        #expect(dispatcher.choose(Array(repeating: Self.ready(), count: 5)) == 0)
        #expect(dispatcher.choose([Self.ready(9), Self.ready(1), Self.ready(9), Self.ready(9), Self.ready(0)]) == 4)
        for _ in 0..<4 {
            let index = dispatcher.choose([Self.ready(), Self.ready()])
            #expect(index == 0 || index == 1)
        }
    }

    @Test("a connection of a worse rank is taken only while none of a better rank can carry at all")
    func rankPreference() {
        var dispatcher = DispatcherChoice()
        let lasso = Candidate(canCarry: true, isWritable: true, bufferedBytes: 9000, rank: 0)
        let fling = Candidate(canCarry: true, isWritable: true, bufferedBytes: 0, rank: 1)
        // The preferred lasso wins although the fling connection is emptier.
        for _ in 0..<4 { #expect(dispatcher.choose([fling, lasso]) == 1) }
        // A congested lasso makes the payload wait for it rather than spill to the fallback.
        let congested = Candidate(canCarry: true, isWritable: false, bufferedBytes: 0, rank: 0)
        #expect(dispatcher.choose([fling, congested]) == nil)
        // Spent (or no) lassoes let the fallback carry.
        let spent = Candidate(canCarry: false, isWritable: true, bufferedBytes: 0, rank: 0)
        #expect(dispatcher.choose([fling, spent]) == 0)
        #expect(dispatcher.choose([fling]) == 0)
        // Within a rank the least-buffered rule holds.
        let otherFling = Candidate(canCarry: true, isWritable: true, bufferedBytes: 10, rank: 1)
        #expect(dispatcher.choose([otherFling, fling, spent]) == 1)
    }

    @Test("within a drain a chosen connection takes payloads in a row up to the burst, then the next one does")
    func burstWithinDrain() {
        var dispatcher = DispatcherChoice(burstBytes: 30_000)
        let candidates = [Self.ready(), Self.ready(), Self.ready()]
        let picks = (0..<7).map { _ in dispatcher.choose(candidates, payloadBytes: 10_000)! }
        #expect(picks == [0, 0, 0, 1, 1, 1, 2])
        // A new drain chooses anew (round-robin from where it stood).
        dispatcher.endBurst()
        #expect(dispatcher.choose(candidates, payloadBytes: 10_000) == 0)
        // Without a burst every payload chooses anew.
        var plain = DispatcherChoice()
        #expect((0..<4).map { _ in plain.choose(candidates, payloadBytes: 10_000)! } == [0, 1, 2, 0])
    }

    @Test("a burst stops at a connection that became unwritable or spent, or carries the shard's group")
    func burstYields() {
        var dispatcher = DispatcherChoice(burstBytes: 1 << 20)
        var candidates = [Self.ready(), Self.ready(500)]
        #expect(dispatcher.choose(candidates, payloadBytes: 100) == 0)
        candidates[0].isWritable = false
        #expect(dispatcher.choose(candidates, payloadBytes: 100) == 1)
        candidates[0].isWritable = true
        candidates[1].canCarry = false
        #expect(dispatcher.choose(candidates, payloadBytes: 100) == 0)
        candidates[1].canCarry = true
        #expect(dispatcher.choose(candidates, payloadBytes: 100) == 0)
        candidates[0].carriesGroup = true
        #expect(dispatcher.choose(candidates, payloadBytes: 100) == 1)
    }
}
