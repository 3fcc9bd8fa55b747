import TCSplitterCore
import Testing

/// The client's pre-dialed pools: how many to dial, and backoff after failures.
@Suite struct ConnectionPoolTests {
    @Test("an empty pool dials up to its target once, and again only for members that are gone")
    func replenish() {
        var pool = ConnectionPool(target: 3)
        let first = pool.dialsToStart()
        let again = pool.dialsToStart()
        #expect(first == 3 && again == 0)
        pool.dialSucceeded(serial: 1)
        pool.dialSucceeded(serial: 2)
        let whileOneDials = pool.dialsToStart()
        #expect(whileOneDials == 0)
        pool.dialSucceeded(serial: 3)
        #expect(pool.members == [1, 2, 3])
        let gone = pool.memberGone(serial: 2)
        let goneTwice = pool.memberGone(serial: 2)
        let stranger = pool.memberGone(serial: 99)
        #expect(gone && !goneTwice && !stranger)
        let replacements = pool.dialsToStart()
        #expect(replacements == 1)
        #expect(pool.dialedTotal == 3)
    }

    @Test("after a failed dial nothing is dialed until the backoff ends, and one failure schedules it")
    func backoff() {
        var pool = ConnectionPool(target: 2)
        let first = pool.dialsToStart()
        #expect(first == 2)
        let backoff = pool.dialFailed()
        let secondBackoff = pool.dialFailed()  // waits for the same redial
        #expect(backoff == 100 && secondBackoff == nil)
        let duringBackoff = pool.dialsToStart()
        #expect(duringBackoff == 0)
        pool.redialDue()
        let afterBackoff = pool.dialsToStart()
        #expect(afterBackoff == 2)
        let third = pool.dialFailed()
        #expect(third == 400)  // three failures in a row
        pool.dialSucceeded(serial: 7)
        #expect(pool.consecutiveFailures == 0)
    }

    @Test("backoff doubles from 100 ms and stops at 1 s")
    func backoffSteps() {
        #expect(
            (1...7).map { ConnectionPool.backoffMilliseconds(afterFailures: $0) } == [
                100, 200, 400, 800, 1000, 1000, 1000,
            ])
    }

    @Test("a raised target (the ramp) dials the difference")
    func ramp() {
        var pool = ConnectionPool(target: 1)
        let first = pool.dialsToStart()
        pool.setTarget(4)
        let rest = pool.dialsToStart()
        #expect(first == 1 && rest == 3)
    }
}
