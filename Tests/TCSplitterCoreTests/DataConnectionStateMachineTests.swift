import TCSplitterCore
import Testing

/// The life of one data connection: handshake, budget, half-closes, idle, close.
@Suite struct DataConnectionStateMachineTests {
    typealias Action = DataConnectionStateMachine.Action

    @Test("nothing may be sent before the hello exchange")
    func handshakeFirst() {
        var machine = DataConnectionStateMachine(budget: 3)
        #expect(!machine.canSend)
        #expect(!machine.isRetired)
        machine.handshakeCompleted()
        #expect(machine.isReady)
        #expect(machine.canSend)
    }

    @Test("spending the budget shuts this end's output, once")
    func budgetSpent() {
        var machine = DataConnectionStateMachine(budget: 3)
        machine.handshakeCompleted()
        #expect(machine.payloadSent(now: at(0)).action == .none)
        #expect(machine.payloadSent(now: at(0)).action == .none)
        #expect(machine.canSend)
        #expect(!machine.isRetired)
        #expect(machine.payloadSent(now: at(0)).action == .shutdownOutput)
        #expect(machine.sentPayloads == 3)
        #expect(machine.outputShut)
        #expect(!machine.canSend)
        #expect(machine.isRetired)
        #expect(machine.outputShutdownCompleted() == .none)
        #expect(machine.peerShutOutput() == .close)
    }

    @Test("a raised budget lets a sending connection go on, times its lifetime afresh, and is refused near the end")
    func raisedBudget() {
        var machine = DataConnectionStateMachine(budget: 8)
        machine.handshakeCompleted()
        for second in 0..<4 { _ = machine.payloadSent(now: at(Int64(second) * 1_000)) }  // half spent at 3 s
        let raised = machine.raiseBudget(to: 16)
        let lowered = machine.raiseBudget(to: 12)  // never lowered
        #expect(raised && !lowered && machine.budget == 16)
        var replacementAskedAt: Int?
        for second in 4..<15 {
            let sent = machine.payloadSent(now: at(Int64(second) * 1_000))
            if sent.askForReplacement { replacementAskedAt = machine.sentPayloads }
            #expect(sent.action == .none)
        }
        #expect(replacementAskedAt == 12)
        #expect(machine.payloadSent(now: at(16_000)).action == .shutdownOutput)
        // Half of 16 was sent at 7 s, all of it at 16 s: 18 s, not the 26 s the old half gives.
        #expect(machine.budgetSpentAfter == .seconds(18))

        // Past its replacement point, or a receiver: left alone.
        var late = DataConnectionStateMachine(budget: 4)
        late.handshakeCompleted()
        for _ in 0..<3 { _ = late.payloadSent(now: at(0)) }
        let lateRaised = late.raiseBudget(to: 64)
        #expect(!lateRaised && late.budget == 4)
        var receiver = DataConnectionStateMachine(budget: 0)
        let receiverRaised = receiver.raiseBudget(to: 64)
        #expect(!receiverRaised && receiver.budget == 0)
    }

    @Test("a budget of one is the original's one payload per connection")
    func budgetOne() {
        var machine = DataConnectionStateMachine(budget: 1)
        machine.handshakeCompleted()
        #expect(machine.payloadSent(now: at(0)).action == .shutdownOutput)
    }

    @Test("a connection with no budget only receives")
    func zeroBudget() {
        for budget in [0, -3] {
            var machine = DataConnectionStateMachine(budget: budget)
            machine.handshakeCompleted()
            #expect(machine.budget == 0)
            #expect(!machine.canSend)
            #expect(!machine.isRetired)  // a receiver stays until the peer or idleness ends it
            // It still answers the peer's half-close with its own.
            #expect(machine.peerShutOutput() == .shutdownOutput)
            #expect(machine.outputShutdownCompleted() == .close)
        }
    }

    @Test("the peer's half-close stops sending and is answered with ours; close follows our shutdown")
    func peerClosesFirst() {
        var machine = DataConnectionStateMachine(budget: 10)
        machine.handshakeCompleted()
        _ = machine.payloadSent(now: at(0)).action
        #expect(machine.peerShutOutput() == .shutdownOutput)
        #expect(machine.inputEnded)
        #expect(!machine.canSend)
        #expect(machine.isRetired)
        #expect(machine.outputShutdownCompleted() == .close)
    }

    @Test("the peer's half-close while our shutdown is still flushing waits for the flush, then closes")
    func peerClosesDuringOurShutdown() {
        var machine = DataConnectionStateMachine(budget: 1)
        machine.handshakeCompleted()
        #expect(machine.payloadSent(now: at(0)).action == .shutdownOutput)
        // Closing now would drop the payload still being written.
        #expect(machine.peerShutOutput() == .none)
        #expect(machine.outputShutdownCompleted() == .close)
    }

    @Test(
        "an idle connection is retired by shutting its output; a second idle tick closes only once both sides are shut")
    func idle() {
        var machine = DataConnectionStateMachine(budget: 10)
        machine.handshakeCompleted()
        #expect(machine.idleTimeoutFired() == .shutdownOutput)
        #expect(machine.isRetired)
        #expect(!machine.canSend)
        #expect(machine.idleTimeoutFired() == .none)
        #expect(machine.outputShutdownCompleted() == .none)
        #expect(machine.peerShutOutput() == .close)
    }

    @Test("an idle tick after both half-closes closes a connection stuck in shutdown")
    func idleAfterBoth() {
        var machine = DataConnectionStateMachine(budget: 1)
        machine.handshakeCompleted()
        _ = machine.payloadSent(now: at(0)).action
        _ = machine.peerShutOutput()
        #expect(machine.idleTimeoutFired() == .close)
    }

    /// One event the handler may report.
    enum Event: CaseIterable { case send, peerFIN, shutdownDone, idle }

    @Test("in every order of events the connection shuts its output once and closes exactly once")
    func everyOrder() {
        // Depth-first over every sequence of up to 7 events, with the handler's own rules:
        // it sends only when allowed, and a shutdown completes only after it was asked for.
        var explored = 0
        func explore(
            _ machine: DataConnectionStateMachine, shutdowns: Int, closes: Int, peerFIN: Bool, shutdownAsked: Bool,
            shutdownDone: Bool, depth: Int
        ) {
            explored += 1
            #expect(shutdowns <= 1)
            #expect(closes <= 1)
            if closes == 1 || depth == 7 { return }
            for event in Event.allCases {
                var next = machine
                var action = Action.none
                var fin = peerFIN
                var asked = shutdownAsked
                var done = shutdownDone
                switch event {
                case .send:
                    guard next.canSend else { continue }
                    action = next.payloadSent(now: at(0)).action
                case .peerFIN:
                    guard !fin else { continue }
                    fin = true
                    action = next.peerShutOutput()
                case .shutdownDone:
                    guard asked, !done else { continue }
                    done = true
                    action = next.outputShutdownCompleted()
                case .idle:
                    action = next.idleTimeoutFired()
                }
                if action == .shutdownOutput { asked = true }
                if action == .close {
                    // Closing is only right once both directions are shut, or as the idle timeout's last resort.
                    #expect(
                        fin && (done || event == .idle), "closed after \(event) with fin \(fin), shutdown done \(done)")
                }
                explore(
                    next,
                    shutdowns: shutdowns + (action == .shutdownOutput ? 1 : 0),
                    closes: closes + (action == .close ? 1 : 0),
                    peerFIN: fin,
                    shutdownAsked: asked,
                    shutdownDone: done,
                    depth: depth + 1
                )
            }
        }
        var machine = DataConnectionStateMachine(budget: 2)
        machine.handshakeCompleted()
        explore(machine, shutdowns: 0, closes: 0, peerFIN: false, shutdownAsked: false, shutdownDone: false, depth: 0)
        #expect(explored > 100)
    }

    @Test("a receiver-only connection (budget 0) is not retired until the peer's FIN, then answers it and closes")
    func receiverOnly() {
        var machine = DataConnectionStateMachine(budget: 0)
        machine.handshakeCompleted()
        #expect(!machine.canSend)
        #expect(!machine.isRetired)
        #expect(machine.peerShutOutput() == .shutdownOutput)
        #expect(machine.isRetired)
        #expect(machine.outputShutdownCompleted() == .close)
    }

    @Test("a receiver-only connection retires on its idle timeout")
    func receiverOnlyIdle() {
        var machine = DataConnectionStateMachine(budget: 0)
        machine.handshakeCompleted()
        #expect(machine.idleTimeoutFired() == .shutdownOutput)
        #expect(machine.isRetired)
    }

    @Test("a budget assigned after the hello replaces the first, but never once a payload was sent")
    func assignBudget() {
        var machine = DataConnectionStateMachine(budget: 5)
        machine.handshakeCompleted()
        machine.assignBudget(0)
        #expect(machine.budget == 0)
        #expect(!machine.canSend)
        machine.assignBudget(2)
        #expect(machine.canSend)
        #expect(machine.payloadSent(now: at(0)).action == .none)
        machine.assignBudget(0)
        #expect(machine.budget == 2)
        #expect(machine.payloadSent(now: at(0)).action == .shutdownOutput)
    }

    @Test(
        "the budget is timed over its second half (doubled), and the replacement is asked for once, at three quarters")
    func budgetTiming() {
        var machine = DataConnectionStateMachine(budget: 8)
        machine.handshakeCompleted()
        var asked: [Int] = []
        for sent in 1...8 {
            // 10 ms apart for the first half, 50 ms apart after it.
            let now = at(sent <= 4 ? Int64(sent) * 10 : 40 + Int64(sent - 4) * 50)
            let result = machine.payloadSent(now: now)
            if result.askForReplacement { asked.append(sent) }
            #expect(result.action == (sent == 8 ? .shutdownOutput : .none))
            #expect((machine.budgetSpentAfter == nil) == (sent < 8))
        }
        #expect(asked == [6], "three quarters of 8")
        #expect(machine.budgetSpentAfter == .milliseconds(400), "the second half took 200 ms")

        var single = DataConnectionStateMachine(budget: 1)
        single.handshakeCompleted()
        let result = single.payloadSent(now: at(5))
        #expect(result.askForReplacement && result.action == .shutdownOutput)
        #expect(single.budgetSpentAfter == .zero)

        var receiver = DataConnectionStateMachine(budget: 3)
        receiver.handshakeCompleted()
        _ = receiver.payloadSent(now: at(0))
        _ = receiver.idleTimeoutFired()
        #expect(receiver.budgetSpentAfter == nil, "retired idle: the budget was not spent")
    }
}
