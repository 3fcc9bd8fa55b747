import NIOCore
import TCSplitterCore
import Testing

@Suite struct ConnectionBudgetScalerTests {
    @Test("connections spent faster than the minimum lifetime double the budget, up to the maximum factor")
    func fastLinkScalesUp() {
        var scaler = ConnectionBudgetScaler(baseBudget: 64, minimumLifetime: .milliseconds(250), maximumFactor: 64)
        #expect(scaler.budget == 64)
        var generations = 0
        while scaler.budgetSpent(factor: scaler.factor, lifetime: .milliseconds(4)) { generations += 1 }
        #expect(generations == 6)
        #expect(scaler.factor == 64 && scaler.budget == 4096)
        let changed = scaler.budgetSpent(factor: 64, lifetime: .milliseconds(4))
        #expect(!changed)
    }

    @Test("a pool retiring together steps the factor once, not once per connection")
    func poolStepsOnce() {
        var scaler = ConnectionBudgetScaler(baseBudget: 64)
        for _ in 0..<4 { scaler.budgetSpent(factor: 1, lifetime: .milliseconds(3)) }
        #expect(scaler.factor == 2)
        for _ in 0..<16 { scaler.budgetSpent(factor: 2, lifetime: .milliseconds(2_000)) }
        #expect(scaler.factor == 1)
    }

    @Test("lifetimes between the minimum and four times it leave the factor alone")
    func hysteresis() {
        var scaler = ConnectionBudgetScaler(baseBudget: 64, minimumLifetime: .milliseconds(250))
        scaler.budgetSpent(factor: 1, lifetime: .milliseconds(10))
        scaler.budgetSpent(factor: 2, lifetime: .milliseconds(10))
        #expect(scaler.factor == 4)
        for lifetime in [250, 600, 1_000] {
            let changed = scaler.budgetSpent(factor: 4, lifetime: .milliseconds(Int64(lifetime)))
            #expect(!changed)
        }
        #expect(scaler.factor == 4)
        let halved = scaler.budgetSpent(factor: 4, lifetime: .milliseconds(1_001))
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
        scaler.budgetSpent(factor: 1, lifetime: .milliseconds(1))
        scaler.budgetSpent(factor: 2, lifetime: .milliseconds(1))
        #expect(scaler.factor == 4)
        // A slow connection of factor 8 would halve to 4: no change; of factor 1, to 1.
        scaler.budgetSpent(factor: 1, lifetime: .milliseconds(1))
        #expect(scaler.factor == 4)
        scaler.budgetSpent(factor: 1, lifetime: .seconds(2))
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
        for factor in [1, 2, 4, 8] { scaler.budgetSpent(factor: factor, lifetime: .milliseconds(3)) }
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
        scaler.budgetSpent(factor: 1, lifetime: .milliseconds(3))
        #expect(scaler.factor == 2 && !scaler.isFastPath)
        scaler.budgetSpent(factor: 2, lifetime: .milliseconds(3))
        #expect(scaler.factor == 4 && scaler.isFastPath)
        // Larger payloads make the next budget last over a second: halved, still fast.
        scaler.budgetSpent(factor: 4, lifetime: .seconds(2))
        #expect(scaler.factor == 2 && scaler.isFastPath)
        scaler.budgetSpent(factor: 2, lifetime: .seconds(2))
        #expect(scaler.factor == 1 && !scaler.isFastPath)
        for factor in [1, 2] { scaler.budgetSpent(factor: factor, lifetime: .milliseconds(3)) }
        #expect(scaler.isFastPath)
        scaler.connectionIdled()
        #expect(!scaler.isFastPath)
        var never = ConnectionBudgetScaler(baseBudget: 64, minimumLifetime: .zero)
        never.budgetSpent(factor: 1, lifetime: .zero)
        #expect(!never.isFastPath)
    }
}

extension ConnectionBudgetScalerTests {
    @Test("on a long path a connection must live 16 round trips: budgets spent in 1 s on a 200 ms path still double")
    func longPathsKeepConnectionsLonger() {
        var scaler = ConnectionBudgetScaler(baseBudget: 64)
        let doubled = scaler.budgetSpent(factor: 1, lifetime: .seconds(1), roundTrip: .milliseconds(200))
        #expect(doubled && scaler.factor == 2)
        // The same lifetime on a 1 ms path is long enough: nothing changes.
        var short = ConnectionBudgetScaler(baseBudget: 64)
        let unchanged = !short.budgetSpent(factor: 1, lifetime: .seconds(1), roundTrip: .milliseconds(1))
        #expect(unchanged && short.factor == 1)
        // Halving starts only past four times the longer minimum (12.8 s here).
        let kept = !scaler.budgetSpent(factor: 2, lifetime: .seconds(10), roundTrip: .milliseconds(200))
        let halved = scaler.budgetSpent(factor: 2, lifetime: .seconds(13), roundTrip: .milliseconds(200))
        #expect(kept && halved && scaler.factor == 1)
    }
}
