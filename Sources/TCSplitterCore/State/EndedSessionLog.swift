import NIOCore

/// What one end remembers of the sessions it ended: the last control messages it sent for each
/// (`finish` and the final `progress` after a clean end, `reset` after an abort), repeated on every
/// new sync connection until they expire.
///
/// A session's state is gone from its end once it ends, so the resync that follows a new sync
/// connection cannot repeat its messages, yet those messages may have died with the old sync
/// connection: the peer then waits for a `finish` or an acknowledgement that never comes (a
/// session that has delivered every byte but never closes). The sync connection loses messages
/// only by dying, and a dead one is replaced within the keepalive time, so an entry is kept for
/// `lifetime` (the sync grace time plus the keepalive detection) and dropped after; at most
/// `capacity` entries are kept, the oldest going first. Repeating is safe: every message is
/// idempotent, and one naming a session the peer has also ended is ignored there.
///
/// ```
///  session ends ─record(id, messages, now)─▶ kept ─(new sync) messagesToRepeat(now)─▶ sent again
///                                              └─ lifetime over, or capacity reached ─▶ dropped
/// ```
public struct EndedSessionLog: Sendable {
    /// One ended session's last messages.
    public struct Entry: Hashable, Sendable {
        public var sessionID: SessionID
        public var messages: [ControlMessage]
        public var endedAt: NIODeadline
    }

    /// Entries kept at most; the oldest is dropped to make room.
    public let capacity: Int
    /// How long an entry is kept after its session ended.
    public let lifetime: TimeAmount
    /// Oldest first.
    private var entries = CircularBuffer<Entry>()
    /// Entries dropped for room before they expired (a hint that `capacity` is short).
    public private(set) var evicted = 0

    /// A log that keeps at most `capacity` sessions (at least one) for `lifetime` each.
    public init(capacity: Int, lifetime: TimeAmount) {
        self.capacity = max(1, capacity)
        self.lifetime = lifetime
    }

    /// Sessions remembered now (expired ones included until the next call that expires).
    public var count: Int { self.entries.count }

    /// Remembers `messages` as the last ones sent for `sessionID`, which ended at `now`. A session
    /// with nothing to repeat is not recorded.
    public mutating func record(_ sessionID: SessionID, messages: [ControlMessage], now: NIODeadline) {
        guard !messages.isEmpty else { return }
        self.expire(now: now)
        while self.entries.count >= self.capacity {
            self.entries.removeFirst()
            self.evicted += 1
        }
        self.entries.append(Entry(sessionID: sessionID, messages: messages, endedAt: now))
    }

    /// The messages to send again on a new sync connection, oldest session first; expired entries
    /// are dropped first.
    public mutating func messagesToRepeat(now: NIODeadline) -> [ControlMessage] {
        self.expire(now: now)
        return self.entries.flatMap(\.messages)
    }

    /// Drops the entries older than `lifetime`.
    public mutating func expire(now: NIODeadline) {
        while let first = self.entries.first, now - first.endedAt > self.lifetime {
            self.entries.removeFirst()
        }
    }
}
