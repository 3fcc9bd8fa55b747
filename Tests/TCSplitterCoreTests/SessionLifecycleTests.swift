import TCSplitterCore
import Testing

/// The session's life without a socket: the open, each half-close, draining, the end and its
/// reason, resets, and what is repeated after a resync or the end.
@Suite struct SessionLifecycleTests {
    typealias State = SessionLifecycle.StreamState

    static func streams(send: Bool = false, receive: Bool = false, socket: Bool = true) -> State {
        State(sendComplete: send, receiveConsumed: receive, hasLocalSocket: socket)
    }

    /// A session opened with nothing read yet.
    static func opened() -> SessionLifecycle {
        var lifecycle = SessionLifecycle()
        _ = lifecycle.opened(pendingBytes: 0)
        return lifecycle
    }

    @Test("the open sends what was read while opening and starts the read clock")
    func opens() {
        var lifecycle = SessionLifecycle()
        #expect(lifecycle.stage == .opening)
        #expect(lifecycle.readWanted(socketActive: true) == [.readLocal] && lifecycle.stage == .opening)
        #expect(lifecycle.opened(pendingBytes: 10) == [.pack(includeTail: false), .startReading])
        #expect(lifecycle.stage == .open)
        #expect(lifecycle.opened(pendingBytes: 10) == [], "a repeated opened is ignored")
        var idle = SessionLifecycle()
        #expect(idle.opened(pendingBytes: 0) == [.startReading])
    }

    @Test("an EOF while opening is kept: the open packs the tail, closes the FEC group and checks completion")
    func eofWhileOpening() {
        var lifecycle = SessionLifecycle()
        #expect(lifecycle.localInputClosed() == [.endSendInput])
        #expect(lifecycle.localInputClosed() == [], "a second EOF is ignored")
        #expect(
            lifecycle.opened(pendingBytes: 0) == [.pack(includeTail: true), .closeParityGroup, .checkCompletion])
    }

    @Test("each half-close happens once, in either order, and the session ends closed only when both are done")
    func halfClosesThenEnd() {
        var lifecycle = Self.opened()
        #expect(
            lifecycle.localInputClosed() == [
                .endSendInput, .pack(includeTail: true), .closeParityGroup, .checkCompletion,
            ])
        #expect(lifecycle.endOfStreamPacked() == [.sendFinish])
        #expect(lifecycle.endOfStreamPacked() == [], "finish goes once")
        #expect(lifecycle.stage == .sendingClosed)
        // Sent all, acknowledged all; the peer's direction still flows.
        #expect(lifecycle.progressed(Self.streams(send: true, receive: false)) == [])
        #expect(lifecycle.progressed(Self.streams(send: true, receive: true)) == [.shutLocalOutput, .end(.closed)])
        #expect(lifecycle.isEnded && lifecycle.endReason == .closed)
        #expect(lifecycle.progressed(Self.streams(send: true, receive: true)) == [], "nothing after the end")

        var other = Self.opened()
        #expect(other.progressed(Self.streams(receive: true)) == [.shutLocalOutput])
        #expect(other.stage == .receivingClosed)
        #expect(other.progressed(Self.streams(send: true, receive: true)) == [], "no finish sent yet")
        _ = other.localInputClosed()
        _ = other.endOfStreamPacked()
        #expect(other.stage == .draining)
        #expect(other.progressed(Self.streams(send: false, receive: true)) == [], "bytes still unacknowledged")
        #expect(other.progressed(Self.streams(send: true, receive: true)) == [.end(.closed)])
    }

    @Test("the local output is not shut, nor the session ended, while a local write is in flight")
    func writesInFlightHoldTheEnd() {
        var lifecycle = Self.opened()
        _ = lifecycle.localInputClosed()
        _ = lifecycle.endOfStreamPacked()
        lifecycle.localWriteStarted()
        lifecycle.localWriteStarted()
        #expect(lifecycle.progressed(Self.streams(send: true, receive: true)) == [])
        lifecycle.localWriteFinished()
        #expect(lifecycle.progressed(Self.streams(send: true, receive: true)) == [])
        lifecycle.localWriteFinished()
        #expect(lifecycle.progressed(Self.streams(send: true, receive: true)) == [.shutLocalOutput, .end(.closed)])
    }

    @Test("a UDP session (no stream socket) never shuts an output, so it ends only by reset or idle")
    func datagramSessionHasNoOutputToShut() {
        var lifecycle = Self.opened()
        _ = lifecycle.localInputClosed()
        _ = lifecycle.endOfStreamPacked()
        #expect(lifecycle.progressed(Self.streams(send: true, receive: true, socket: false)) == [])
        #expect(lifecycle.end(.udpIdle(milliseconds: 60_000)) == [.end(.udpIdle(milliseconds: 60_000))])
        #expect(lifecycle.farewell == .finalState(includesFinish: true), "an idle end is clean")
    }

    @Test(
        "an abort sends one reset naming its reason and ends; later events do nothing; the farewell repeats the reset")
    func abortSendsReset() {
        var lifecycle = Self.opened()
        let reason = SessionEndReason.localFailed("boom")
        #expect(lifecycle.abort(reason, notifyPeer: true) == [.sendReset(reason.description), .end(reason)])
        #expect(lifecycle.stage == .reset)
        #expect(lifecycle.abort(.shutdown, notifyPeer: true) == [])
        #expect(lifecycle.localInputClosed() == [])
        #expect(lifecycle.resync(isClient: true) == [])
        #expect(lifecycle.farewell == .reset(reason.description))
        #expect(lifecycle.endReason == reason)
    }

    @Test("the peer's reset and a refusal end without a reset back, and leave nothing to repeat")
    func peerEnds() {
        var reset = Self.opened()
        #expect(reset.end(.resetByPeer("gone")) == [.end(.resetByPeer("gone"))])
        #expect(reset.stage == .ended)
        #expect(reset.farewell == SessionLifecycle.Farewell.none)
        var refused = SessionLifecycle()
        #expect(refused.end(.refusedByServer("no")) == [.end(.refusedByServer("no"))])
        #expect(refused.opened(pendingBytes: 5) == [], "an opened after the refusal is ignored")
        var lost = Self.opened()
        #expect(lost.abort(.syncLost, notifyPeer: false) == [.end(.syncLost)])
        #expect(lost.farewell == SessionLifecycle.Farewell.none)
    }

    @Test(
        "a local close before EOF, or with the peer's bytes unwritten, cuts the session; after the output was shut it is the EOF"
    )
    func localClose() {
        var early = Self.opened()
        let cut = SessionEndReason.localClosedEarly(undeliveredBytes: 0)
        #expect(
            early.localSocketClosed(receiveConsumed: false, undeliveredBytes: 7) == [
                .sendReset(cut.description), .end(cut),
            ])

        var folded = Self.opened()
        #expect(folded.progressed(Self.streams(receive: true)) == [.shutLocalOutput])
        #expect(
            folded.localSocketClosed(receiveConsumed: true, undeliveredBytes: 0) == [
                .endSendInput, .pack(includeTail: true), .closeParityGroup, .checkCompletion,
            ])
        #expect(!folded.isEnded)
        var afterEOF = Self.opened()
        _ = afterEOF.localInputClosed()
        #expect(afterEOF.localSocketClosed(receiveConsumed: true, undeliveredBytes: 0) == [.checkCompletion])

        var unwritten = Self.opened()
        _ = unwritten.localInputClosed()
        let lost = SessionEndReason.localClosedEarly(undeliveredBytes: 300)
        #expect(
            unwritten.localSocketClosed(receiveConsumed: false, undeliveredBytes: 300) == [
                .sendReset(lost.description), .end(lost),
            ])
    }

    @Test("a read asked for before the socket is active waits for activation, once")
    func readWaitsForActivation() {
        var lifecycle = Self.opened()
        #expect(lifecycle.socketBecameActive() == [])
        #expect(lifecycle.readWanted(socketActive: true) == [.readLocal])
        #expect(lifecycle.readWanted(socketActive: false) == [])
        #expect(lifecycle.readWaitsForActive)
        #expect(lifecycle.socketBecameActive() == [.readLocal])
        #expect(lifecycle.socketBecameActive() == [])
    }

    @Test("a resync repeats the open (client, opening), opened (server, open), finish once sent, and progress")
    func resync() {
        let opening = SessionLifecycle()
        #expect(opening.resync(isClient: true) == [.sendOpenRequest, .sendProgress])
        #expect(opening.resync(isClient: false) == [.sendProgress])
        var open = Self.opened()
        #expect(open.resync(isClient: true) == [.sendProgress])
        #expect(open.resync(isClient: false) == [.sendOpened, .sendProgress])
        _ = open.localInputClosed()
        _ = open.endOfStreamPacked()
        #expect(open.resync(isClient: false) == [.sendOpened, .sendFinish, .sendProgress])
    }

    @Test("a clean end's farewell repeats finish and the final progress; one before the finish only the progress")
    func farewell() {
        #expect(SessionLifecycle().farewell == SessionLifecycle.Farewell.none, "not ended: nothing")
        var lifecycle = Self.opened()
        _ = lifecycle.localInputClosed()
        _ = lifecycle.endOfStreamPacked()
        _ = lifecycle.progressed(Self.streams(send: true, receive: true))
        #expect(lifecycle.farewell == .finalState(includesFinish: true))
        var idle = Self.opened()
        _ = idle.end(.udpIdle(milliseconds: 1))
        #expect(idle.farewell == .finalState(includesFinish: false))
    }
}
