import Logging
import NIOConcurrencyHelpers
import NIOCore
import NIOEmbedded
import ServiceLifecycleTestKit
import TCSplitterCore
import TCSplitterNIO
import TCSplitterService
import Testing

/// `TunnelService` against a stand-in end that records what it is asked to do.
@Suite struct TunnelServiceTests {
    /// An end whose drain completes when the test says so.
    final class RecordingEnd: TunnelEnd {
        let loop = EmbeddedEventLoop()
        let calls = NIOLockedValueBox<[String]>([])
        let drainPromise: EventLoopPromise<DrainOutcome>
        /// Yields once `drain` was called.
        let drainCalled: AsyncStream<Void>
        private let drainCalledContinuation: AsyncStream<Void>.Continuation

        init() {
            self.drainPromise = self.loop.makePromise()
            (self.drainCalled, self.drainCalledContinuation) = AsyncStream.makeStream()
        }

        func statistics() -> EventLoopFuture<EndStatistics> {
            self.loop.makeSucceededFuture(EndStatistics(role: .client, uptime: .zero, windowBytes: 1, maxSessions: 1))
        }

        func drain(gracePeriod: TimeAmount) -> EventLoopFuture<DrainOutcome> {
            self.calls.withLockedValue { $0.append("drain \(gracePeriod.milliseconds) ms") }
            self.drainCalledContinuation.yield()
            return self.drainPromise.futureResult
        }

        func logState() {
            self.calls.withLockedValue { $0.append("logState") }
        }

        func stop() -> EventLoopFuture<Void> {
            self.calls.withLockedValue { $0.append("stop") }
            return self.loop.makeSucceededVoidFuture()
        }
    }

    @Test("a graceful shutdown drains the end for the grace period, then stops it", .timeLimit(.minutes(1)))
    func gracefulShutdownDrainsThenStops() async throws {
        let end = RecordingEnd()
        let service = TunnelService(end: end, gracePeriod: .seconds(7), logger: Logger(label: "test"))
        try await testGracefulShutdown { trigger in
            try await withThrowingTaskGroup(of: Void.self) { group in
                group.addTask { try await service.run() }
                #expect(end.calls.withLockedValue { $0 }.isEmpty, "nothing happens before the shutdown")
                trigger.triggerGracefulShutdown()
                for await _ in end.drainCalled { break }
                #expect(end.calls.withLockedValue { $0 } == ["drain 7000 ms"], "not stopped while draining")
                end.drainPromise.succeed(.gracePeriodOver(sessionsLeft: 2))
                try await group.waitForAll()
            }
        }
        #expect(end.calls.withLockedValue { $0 } == ["drain 7000 ms", "stop"])
    }

    @Test("cancellation before a shutdown stops the end at once, without a drain", .timeLimit(.minutes(1)))
    func cancellationStopsAtOnce() async throws {
        let end = RecordingEnd()
        let service = TunnelService(end: end, gracePeriod: .seconds(7), logger: Logger(label: "test"))
        try await testGracefulShutdown { _ in
            let task = Task { try await service.run() }
            task.cancel()
            try await task.value
        }
        #expect(end.calls.withLockedValue { $0 } == ["stop"])
        end.drainPromise.succeed(.drained(sessions: 0))
    }
}
