import NIOCore

extension TimeAmount {
    /// The amount in whole milliseconds, as flags and logs state it.
    public var milliseconds: Int64 { self.nanoseconds / 1_000_000 }
}
