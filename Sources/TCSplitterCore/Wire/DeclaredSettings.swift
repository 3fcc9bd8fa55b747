import NIOCore

/// The settings both ends must share, declared in both hellos and compared at connect time:
/// a mismatch is an error on both ends that names the flag and both values.
///
/// ```
/// +-----------------------------------+-----------+-------------+----------+
/// |       payload bytes (u32)         | fec data  | fec parity  | protocol |
/// +-----------------------------------+-----------+-------------+----------+
/// protocol: 0 tcp, 1 udp
/// ```
public struct TunnelAgreement: Hashable, Sendable {
    /// `--frags`' payload size.
    public var payloadBytes: UInt32
    /// `--fec`' data shards (0: off).
    public var fecDataShards: UInt8
    /// `--fec`' parity shards.
    public var fecParityShards: UInt8
    /// `--protocol`.
    public var localProtocol: LocalProtocol

    /// Bytes on the wire.
    public static let encodedBytes = 7

    /// An agreement from its values.
    public init(payloadBytes: UInt32, fecDataShards: UInt8, fecParityShards: UInt8, localProtocol: LocalProtocol) {
        self.payloadBytes = payloadBytes
        self.fecDataShards = fecDataShards
        self.fecParityShards = fecParityShards
        self.localProtocol = localProtocol
    }

    /// One disagreement: the flag, this end's value and the peer's.
    public struct Mismatch: Hashable, Sendable, CustomStringConvertible {
        /// The flag that must be the same on both ends.
        public var flag: String
        /// This end's value, in the flag's spelling.
        public var local: String
        /// The peer's value.
        public var peer: String
        /// "--frags: this end 10000, the peer 65536".
        public var description: String { "\(self.flag): this end \(self.local), the peer \(self.peer)" }
    }

    /// Where this end (`self`) and the peer disagree, one entry per flag.
    public func mismatches(with peer: TunnelAgreement) -> [Mismatch] {
        var out: [Mismatch] = []
        if self.payloadBytes != peer.payloadBytes {
            out.append(Mismatch(flag: "--frags", local: "\(self.payloadBytes)", peer: "\(peer.payloadBytes)"))
        }
        if self.fecDataShards != peer.fecDataShards || self.fecParityShards != peer.fecParityShards {
            out.append(
                Mismatch(
                    flag: "--fec", local: "\(self.fecDataShards):\(self.fecParityShards)",
                    peer: "\(peer.fecDataShards):\(peer.fecParityShards)"))
        }
        if self.localProtocol != peer.localProtocol {
            out.append(
                Mismatch(flag: "--protocol", local: self.localProtocol.rawValue, peer: peer.localProtocol.rawValue))
        }
        return out
    }

    init(body: inout ByteBuffer, type: UInt8) throws(FrameDecodingError) {
        guard let payload = body.readInteger(as: UInt32.self), let data = body.readInteger(as: UInt8.self),
            let parity = body.readInteger(as: UInt8.self), let protocolByte = body.readInteger(as: UInt8.self)
        else { throw .malformedBody(type: type, length: body.readableBytes) }
        guard protocolByte <= 1 else { throw .invalidField("agreement.protocol") }
        self.init(
            payloadBytes: payload, fecDataShards: data, fecParityShards: parity,
            localProtocol: protocolByte == 0 ? .tcp : .udp)
    }

    @discardableResult
    func write(into buffer: inout ByteBuffer) -> Int {
        buffer.writeMultipleIntegers(
            self.payloadBytes, self.fecDataShards, self.fecParityShards, UInt8(self.localProtocol == .tcp ? 0 : 1))
    }
}

/// The tuning a client end chose (by flag or `--mode`), declared in its hellos: the server's
/// sessions for that client follow it, so a user tunes one end.
///
/// ```
/// +---------------+---------------+---------------+---------------+
/// |  tick ms u32  |  tock ms u32  | buffer ms u32 | buffer count  |
/// +---------------+---------------+---------------+---------------+
/// | budget u32    | retry skip i32| window u32    | flags |
/// +---------------+---------------+---------------+-------+
/// budget: 0 = auto; retry skip: -1 = never;
/// flags: bit 0 retries on, bit 1 adaptive clocks
/// ```
public struct ClientTuning: Hashable, Sendable, CustomStringConvertible {
    /// `--tick` in ms.
    public var tickMilliseconds: UInt32
    /// `--tock` in ms.
    public var tockMilliseconds: UInt32
    /// `--buffer`'s interval in ms.
    public var bufferMilliseconds: UInt32
    /// `--buffer`'s prefill count.
    public var bufferPayloads: UInt32
    /// `--budget`; 0 is auto.
    public var budget: UInt32
    /// `--retries`' skip count; -1 never.
    public var retrySkip: Int32
    /// `--window` in bytes.
    public var windowBytes: UInt32
    /// `--retries`' first half.
    public var retries: Bool
    /// `--clocks adaptive` (true) or `fixed`.
    public var adaptiveClocks: Bool

    /// Bytes on the wire.
    public static let encodedBytes = 29

    /// In the flags' spelling: "--tick 50 --tock 250 --buffer 250:0 --clocks adaptive ...".
    public var description: String {
        let budget = self.budget == 0 ? "auto" : "\(self.budget)"
        return
            "--tick \(self.tickMilliseconds) --tock \(self.tockMilliseconds) --buffer \(self.bufferMilliseconds):\(self.bufferPayloads) --clocks \(self.adaptiveClocks ? "adaptive" : "fixed") --budget \(budget) --retries \(self.retries ? 1 : 0):\(self.retrySkip) --window \(self.windowBytes)"
    }

    /// A tuning from its values.
    public init(
        tickMilliseconds: UInt32, tockMilliseconds: UInt32, bufferMilliseconds: UInt32, bufferPayloads: UInt32,
        budget: UInt32, retrySkip: Int32, windowBytes: UInt32, retries: Bool, adaptiveClocks: Bool
    ) {
        self.tickMilliseconds = tickMilliseconds
        self.tockMilliseconds = tockMilliseconds
        self.bufferMilliseconds = bufferMilliseconds
        self.bufferPayloads = bufferPayloads
        self.budget = budget
        self.retrySkip = retrySkip
        self.windowBytes = windowBytes
        self.retries = retries
        self.adaptiveClocks = adaptiveClocks
    }

    init(body: inout ByteBuffer, type: UInt8) throws(FrameDecodingError) {
        guard
            let (tick, tock, bufferMs, bufferCount, budget, skip, window, flags) = body.readMultipleIntegers(
                as: (UInt32, UInt32, UInt32, UInt32, UInt32, Int32, UInt32, UInt8).self)
        else { throw .malformedBody(type: type, length: body.readableBytes) }
        guard flags & ~0b11 == 0 else { throw .invalidField("tuning.flags") }
        guard skip >= -1 else { throw .invalidField("tuning.retrySkip") }
        self.init(
            tickMilliseconds: tick, tockMilliseconds: tock, bufferMilliseconds: bufferMs, bufferPayloads: bufferCount,
            budget: budget, retrySkip: skip, windowBytes: window, retries: flags & 1 != 0,
            adaptiveClocks: flags & 2 != 0)
    }

    @discardableResult
    func write(into buffer: inout ByteBuffer) -> Int {
        let flags = UInt8(self.retries ? 1 : 0) | UInt8(self.adaptiveClocks ? 2 : 0)
        return buffer.writeMultipleIntegers(
            self.tickMilliseconds, self.tockMilliseconds, self.bufferMilliseconds, self.bufferPayloads, self.budget,
            self.retrySkip, self.windowBytes, flags)
    }
}
