import NIOCore
import TCSplitterCore
import Testing

/// The last messages of ended sessions, repeated on a new sync connection until they expire.
@Suite struct EndedSessionLogTests {
    let first = SessionID(rawValue: 1)
    let second = SessionID(rawValue: 2)

    @Test(
        "recorded messages are repeated on every new sync connection, oldest session first, until the lifetime is over")
    func repeatsUntilExpiry() {
        var log = EndedSessionLog(capacity: 8, lifetime: .seconds(30))
        log.record(
            self.first,
            messages: [
                .finish(self.first, finalOffset: 10), .progress(self.first, receivedOffset: 20, sentOffset: 10),
            ], now: at(0))
        log.record(self.second, messages: [.reset(self.second, reason: "gone")], now: at(1_000))
        let expected: [ControlMessage] = [
            .finish(self.first, finalOffset: 10), .progress(self.first, receivedOffset: 20, sentOffset: 10),
            .reset(self.second, reason: "gone"),
        ]
        #expect(log.messagesToRepeat(now: at(2_000)) == expected)
        #expect(log.messagesToRepeat(now: at(30_000)) == expected, "repeating does not use an entry up")
        #expect(
            log.messagesToRepeat(now: at(30_500)) == [.reset(self.second, reason: "gone")], "the first is 30.5 s old")
        #expect(log.messagesToRepeat(now: at(31_001)) == [])
        #expect(log.count == 0)
    }

    @Test("at capacity the oldest session is dropped for the newest, and counted")
    func capacity() {
        var log = EndedSessionLog(capacity: 2, lifetime: .seconds(30))
        for raw in UInt64(1)...5 {
            let id = SessionID(rawValue: raw)
            log.record(id, messages: [.reset(id, reason: "\(raw)")], now: at(Int64(raw)))
        }
        #expect(log.count == 2)
        #expect(log.evicted == 3)
        #expect(
            log.messagesToRepeat(now: at(10)) == [
                .reset(SessionID(rawValue: 4), reason: "4"), .reset(SessionID(rawValue: 5), reason: "5"),
            ])
    }

    @Test("a session with nothing to repeat takes no room, and expiry happens on its own call too")
    func emptyAndExpire() {
        var log = EndedSessionLog(capacity: 0, lifetime: .milliseconds(100))
        #expect(log.capacity == 1, "at least one entry")
        log.record(self.first, messages: [], now: at(0))
        #expect(log.count == 0)
        log.record(self.second, messages: [.finish(self.second, finalOffset: 0)], now: at(0))
        log.expire(now: at(100))
        #expect(log.count == 1, "exactly the lifetime old is still kept")
        log.expire(now: at(101))
        #expect(log.count == 0)
    }
}
