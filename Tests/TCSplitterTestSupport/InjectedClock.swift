import NIOCore

/// A fixed point on the injected clock: `ms` milliseconds after an arbitrary origin.
/// Core never reads a clock, so every test passes its own `now`.
public func at(_ ms: Int64) -> NIODeadline {
    .uptimeNanoseconds(1_000_000_000 + UInt64(ms) * 1_000_000)
}
