import NIOCore
import TCSplitterCore
import Testing

@Suite struct ConnectionBudgetScalerTests {
    @Test("connections spent faster than the minimum lifetime double the budget, up to the maximum factor")
    func fastLinkScalesUp() {
        var scaler = ConnectionBudgetScaler(baseBudget: 64, minimumLifetime: .milliseconds(250), maximumFactor: 64)
        #expect(scaler.budget == 64)
        var generations = 0
        while scaler.budgetSpent(factor: scaler.factor, lifetime: .milliseconds(200)) { generations += 1 }
        #expect(generations == 6)
        #expect(scaler.factor == 64 && scaler.budget == 4096)
        let changed = scaler.budgetSpent(factor: 64, lifetime: .milliseconds(4))
        #expect(!changed)
    }

    @Test("one generation finds the factor: the power of two that would have made it last the minimum lifetime")
    func scalesByTheShortfall() {
        var scaler = ConnectionBudgetScaler(baseBudget: 64, minimumLifetime: .milliseconds(250), maximumFactor: 64)
        // 100 ms × 2 is still short of 250 ms, 100 ms × 4 is not.
        #expect(scaler.budgetSpent(factor: 1, lifetime: .milliseconds(100)) && scaler.factor == 4)
        // Spent in 4 ms: 64 times as large, the maximum, at once.
        var fast = ConnectionBudgetScaler(baseBudget: 64, minimumLifetime: .milliseconds(250), maximumFactor: 64)
        #expect(fast.budgetSpent(factor: 1, lifetime: .milliseconds(4)) && fast.factor == 64)
        // Never past the maximum, relative to the connection's own factor.
        var capped = ConnectionBudgetScaler(baseBudget: 64, minimumLifetime: .milliseconds(250), maximumFactor: 16)
        #expect(capped.budgetSpent(factor: 8, lifetime: .milliseconds(10)) && capped.factor == 16)
    }

    @Test("a pool retiring together steps the factor once, not once per connection")
    func poolStepsOnce() {
        var scaler = ConnectionBudgetScaler(baseBudget: 64)
        for _ in 0..<4 { scaler.budgetSpent(factor: 1, lifetime: .milliseconds(200)) }
        #expect(scaler.factor == 2)
        for _ in 0..<16 { scaler.budgetSpent(factor: 2, lifetime: .milliseconds(5_000)) }
        #expect(scaler.factor == 1)
    }

    @Test("lifetimes between the minimum and sixteen times it leave the factor alone")
    func hysteresis() {
        var scaler = ConnectionBudgetScaler(baseBudget: 64, minimumLifetime: .milliseconds(250))
        scaler.budgetSpent(factor: 1, lifetime: .milliseconds(200))
        scaler.budgetSpent(factor: 2, lifetime: .milliseconds(200))
        #expect(scaler.factor == 4)
        // Large cuts (from factor 4) make budgets last up to 6.5 times longer: that alone must
        // not halve the factor.
        for lifetime in [250, 600, 1_000, 4_000] {
            let changed = scaler.budgetSpent(factor: 4, lifetime: .milliseconds(Int64(lifetime)))
            #expect(!changed)
        }
        #expect(scaler.factor == 4)
        let halved = scaler.budgetSpent(factor: 4, lifetime: .milliseconds(4_001))
        #expect(halved)
        #expect(scaler.factor == 2)
    }

    @Test("a slow or lossy link (connections lasting seconds) keeps the base budget")
    func slowLinkStaysShort() {
        var scaler = ConnectionBudgetScaler(baseBudget: 64)
        for _ in 0..<100 { scaler.budgetSpent(factor: 1, lifetime: .milliseconds(800)) }
        #expect(scaler.budget == 64)
        scaler.budgetSpent(factor: 1, lifetime: .seconds(30))
        #expect(scaler.factor == 1)
    }

    @Test("a stale report of an old connection does not undo a newer step")
    func staleReports() {
        var scaler = ConnectionBudgetScaler(baseBudget: 64)
        scaler.budgetSpent(factor: 1, lifetime: .milliseconds(200))
        scaler.budgetSpent(factor: 2, lifetime: .milliseconds(200))
        #expect(scaler.factor == 4)
        // A fast connection of factor 1 would double it to 2: no change; a slow one halves to 1.
        scaler.budgetSpent(factor: 1, lifetime: .milliseconds(200))
        #expect(scaler.factor == 4)
        scaler.budgetSpent(factor: 1, lifetime: .seconds(5))
        #expect(scaler.factor == 1)
    }

    @Test("a minimum lifetime of zero never scales")
    func disabled() {
        var scaler = ConnectionBudgetScaler(baseBudget: 1, minimumLifetime: .zero)
        let changed = scaler.budgetSpent(factor: 1, lifetime: .zero)
        #expect(!changed)
        #expect(scaler.budget == 1)
    }

    @Test("a sending connection retired idle puts the factor back to 1")
    func idleResets() {
        var scaler = ConnectionBudgetScaler(baseBudget: 64)
        for factor in [1, 2, 4, 8] { scaler.budgetSpent(factor: factor, lifetime: .milliseconds(200)) }
        #expect(scaler.budget == 1024)
        let changed = scaler.connectionIdled()
        #expect(changed && scaler.budget == 64)
        let again = scaler.connectionIdled()
        #expect(!again)
    }

    @Test("the path counts as fast from factor 4 until the factor is back at 1, not at the first halving")
    func fastPathHysteresis() {
        var scaler = ConnectionBudgetScaler(baseBudget: 64)
        #expect(!scaler.isFastPath)
        scaler.budgetSpent(factor: 1, lifetime: .milliseconds(200))
        #expect(scaler.factor == 2 && !scaler.isFastPath)
        scaler.budgetSpent(factor: 2, lifetime: .milliseconds(200))
        #expect(scaler.factor == 4 && scaler.isFastPath)
        // The next budget lasts over four seconds: halved, still fast.
        scaler.budgetSpent(factor: 4, lifetime: .seconds(5))
        #expect(scaler.factor == 2 && scaler.isFastPath)
        scaler.budgetSpent(factor: 2, lifetime: .seconds(5))
        #expect(scaler.factor == 1 && !scaler.isFastPath && !scaler.takesLargePayloads)
        for factor in [1, 2] { scaler.budgetSpent(factor: factor, lifetime: .milliseconds(200)) }
        #expect(scaler.isFastPath)
        scaler.connectionIdled()
        #expect(!scaler.isFastPath)
        var never = ConnectionBudgetScaler(baseBudget: 64, minimumLifetime: .zero)
        never.budgetSpent(factor: 1, lifetime: .zero)
        #expect(!never.isFastPath)
    }
}

extension ConnectionBudgetScalerTests {
    @Test(
        "on a long path a connection must live 64 round trips: a budget spent in 1 s on a 200 ms path makes the next 16 times larger"
    )
    func longPathsKeepConnectionsLonger() {
        var scaler = ConnectionBudgetScaler(baseBudget: 64)
        // 12.8 s wanted: 1 s × 16 is the first power of two that reaches it.
        let scaled = scaler.budgetSpent(factor: 1, lifetime: .seconds(1), roundTrip: .milliseconds(200))
        // A long budget is not a fast path (the round trip asked for it).
        #expect(scaled && scaler.factor == 16 && !scaler.isFastPath)
        // The same lifetime on a 1 ms path is long enough: nothing changes.
        var short = ConnectionBudgetScaler(baseBudget: 64)
        let unchanged = !short.budgetSpent(factor: 1, lifetime: .seconds(1), roundTrip: .milliseconds(1))
        #expect(unchanged && short.factor == 1)
        // Halving starts only past sixteen times the longer minimum (204.8 s here).
        let kept = !scaler.budgetSpent(factor: 16, lifetime: .seconds(200), roundTrip: .milliseconds(200))
        let halved = scaler.budgetSpent(factor: 16, lifetime: .seconds(205), roundTrip: .milliseconds(200))
        #expect(kept && halved && scaler.factor == 8)
        // 50 ms: 3.2 s wanted; 1.6 s doubles.
        var medium = ConnectionBudgetScaler(baseBudget: 64)
        let doubled = medium.budgetSpent(factor: 1, lifetime: .milliseconds(1_600), roundTrip: .milliseconds(50))
        #expect(doubled && medium.factor == 2)
    }
}

extension ConnectionBudgetScalerTests {
    @Test(
        "a round trip of 60 ms or more makes 16 the floor from the start and payloads large: no halving, idling or stale report goes below it"
    )
    func longPathFloor() {
        var short = ConnectionBudgetScaler(baseBudget: 64)
        let unchanged = !short.roundTripMeasured(.milliseconds(59))
        #expect(unchanged && short.factor == 1 && short.floorFactor == 1)

        var scaler = ConnectionBudgetScaler(baseBudget: 64)
        #expect(!short.isLongPath && !short.takesLargePayloads)
        #expect(!scaler.takesLargePayloads)
        let raised = scaler.roundTripMeasured(.milliseconds(200))
        #expect(raised && scaler.factor == 16 && scaler.budget == 1024 && !scaler.isFastPath)
        // Not fast, but long: senders cut large payloads, for as long as the end lives.
        #expect(scaler.isLongPath && scaler.takesLargePayloads)
        // Measured again (every pong): nothing more changes.
        let again = !scaler.roundTripMeasured(.milliseconds(200))
        #expect(again && scaler.factor == 16)
        // Long-lived connections halve toward the floor, not past it.
        scaler.budgetSpent(factor: 16, lifetime: .seconds(300), roundTrip: .milliseconds(200))
        #expect(scaler.factor == 16)
        // Spent fast, the factor still climbs above the floor, and idling returns it to the floor.
        scaler.budgetSpent(factor: 16, lifetime: .seconds(2), roundTrip: .milliseconds(200))
        #expect(scaler.factor == 64)
        let idled = scaler.connectionIdled()
        #expect(idled && scaler.factor == 16 && scaler.takesLargePayloads)

        // A fast long path clears its fast-path mark back at the floor, not at 1.
        var fast = ConnectionBudgetScaler(baseBudget: 64)
        fast.roundTripMeasured(.milliseconds(100))
        fast.budgetSpent(factor: 16, lifetime: .milliseconds(100), roundTrip: .milliseconds(100))
        #expect(fast.isFastPath && fast.factor == 64)
        fast.connectionIdled()
        #expect(!fast.isFastPath && fast.factor == 16 && fast.takesLargePayloads)

        // A scaler that never scales ignores the round trip too.
        var never = ConnectionBudgetScaler(baseBudget: 1, minimumLifetime: .zero)
        let ignored = !never.roundTripMeasured(.seconds(1))
        #expect(ignored && never.budget == 1)
    }
}
