import NIOCore

/// How many bytes one data connection may hold that it has not sent yet: a few milliseconds of
/// its own sending rate.
///
/// The kernel takes whatever fits a socket's send buffer, which TCP grows to megabytes. Without a
/// bound, every connection looks ready for more, and the dispatcher deals payloads out evenly. On
/// a lossy or policed path the connections do not move evenly: one that is recovering a loss
/// sends at a fraction of the others' rate, and the megabyte queued behind it holds the stream
/// for seconds while the other connections idle (on the 200 ms, 1% loss link a quarter of the
/// link went unused this way). With the bound, a connection that is behind stops taking payloads
/// (the kernel's `TCP_NOTSENT_LOWAT` makes its socket unwritable, and the channel's own buffer
/// stops at the same size), so payloads wait in the tunnel's queue for whichever connection
/// sends first.
///
/// The rate is what the kernel took from the connection over each `sampleInterval` (bytes
/// written minus bytes still buffered in the channel). The bound follows it at once when the
/// rate rises and falls by at most a quarter per sample, so one slow moment does not starve a
/// connection (a move under an eighth is ignored, except onto either end); it never goes below
/// `minimumBytes` (a fresh connection starts there, and a few event-loop turns at that size show
/// a fast path its rate) nor above `maximumBytes`.
///
/// ```
///  sample (≥ 100 ms apart): rate = taken bytes / elapsed
///  bound = clamp(rate × queueTime, minimumBytes, maximumBytes), falling ≤ 25 % per sample
/// ```
public struct SendQueueBound: Sendable {
    /// How long a connection's unsent bytes may take it to send, at its own rate.
    public static let queueTime: TimeAmount = .milliseconds(20)
    /// The least bound: what a connection starts with, and what a slow or idle one keeps.
    public static let minimumBytes = 16 << 10
    /// The greatest bound (a loopback or LAN connection moving gigabits).
    public static let maximumBytes = 4 << 20
    /// How often the rate is sampled.
    public static let sampleInterval: TimeAmount = .milliseconds(100)

    /// The current bound, in bytes.
    public private(set) var limitBytes: Int
    private var lastSample: (at: NIODeadline, takenBytes: Int)?

    /// A bound at `minimumBytes`, for a connection that has sent nothing yet.
    public init() {
        self.limitBytes = Self.minimumBytes
    }

    /// The connection's kernel has taken `takenBytes` in all by `now` (read only when a sample
    /// is due: the caller may be on a tick far shorter than `sampleInterval`). Returns the bound
    /// to apply to the socket and the channel when there is a new one (the first sample answers
    /// the starting bound), else `nil`.
    public mutating func sample(takenBytes readTaken: @autoclosure () -> Int, now: NIODeadline) -> Int? {
        guard let last = self.lastSample else {
            self.lastSample = (now, readTaken())
            return self.limitBytes
        }
        let elapsed = now - last.at
        guard elapsed >= Self.sampleInterval else { return nil }
        let takenBytes = readTaken()
        self.lastSample = (now, takenBytes)
        let bytesPerSecond = Double(max(0, takenBytes - last.takenBytes)) * 1e9 / Double(elapsed.nanoseconds)
        let wanted = Int(bytesPerSecond * Double(Self.queueTime.nanoseconds) / 1e9)
        let floor = self.limitBytes - self.limitBytes / 4
        let next = min(Self.maximumBytes, max(Self.minimumBytes, max(wanted, floor)))
        // Small moves are not worth two system calls.
        let reachesAnEnd = next == Self.minimumBytes || next == Self.maximumBytes
        guard next != self.limitBytes, reachesAnEnd || abs(next - self.limitBytes) * 8 >= self.limitBytes else {
            return nil
        }
        self.limitBytes = next
        return next
    }
}
