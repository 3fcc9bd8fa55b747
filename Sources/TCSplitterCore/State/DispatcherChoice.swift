/// Picks the data connection for the next payload.
///
/// As the older tcp-striper did, payloads go to connections that can take data now: a connection
/// whose send buffer is backing up (not writable: its socket is congested or policed) gets no new
/// payload while another can take it. Among the writable ones the least-buffered wins, ties going
/// round-robin so every connection carries its share.
public struct DispatcherChoice: Sendable {
    /// What the dispatcher knows of one connection.
    public struct Candidate: Hashable, Sendable {
        /// Whether the connection can carry another payload at all (ready, budget left).
        public var canCarry: Bool
        /// Whether its send buffer is below the high-water mark.
        public var isWritable: Bool
        /// Bytes written to it and not yet taken by the kernel.
        public var bufferedBytes: Int

        /// A candidate from its state.
        public init(canCarry: Bool, isWritable: Bool, bufferedBytes: Int) {
            self.canCarry = canCarry
            self.isWritable = isWritable
            self.bufferedBytes = bufferedBytes
        }
    }

    private var cursor = 0

    /// A dispatcher with no history.
    public init() {}

    /// The index of the connection to use, or `nil` when none can take a payload now (the payload
    /// waits until one becomes writable).
    public mutating func choose(_ candidates: [Candidate]) -> Int? {
        guard !candidates.isEmpty else { return nil }
        var best: Int? = nil
        var bestBuffered = Int.max
        let count = candidates.count
        let start = self.cursor % count
        for step in 0..<count {
            let index = (start + step) % count
            let candidate = candidates[index]
            guard candidate.canCarry, candidate.isWritable else { continue }
            if candidate.bufferedBytes < bestBuffered {
                best = index
                bestBuffered = candidate.bufferedBytes
            }
        }
        if let best { self.cursor = best + 1 }
        return best
    }
}
