import ArgumentParser
import TCSplitterCore

/// `--frags payload:mtu`: stream bytes per payload, and the original's MTU (accepted, unused).
/// A single number is the payload with the MTU at 1250.
struct PayloadAndMTU: Hashable, Sendable, ExpressibleByArgument {
    /// Stream bytes per payload, 1 to `WireConstants.maxPayloadBytes`.
    var payloadBytes: Int
    /// The original's MTU in bytes, 0 to 65535; unused.
    var mtuBytes: Int

    /// A payload size and an MTU.
    init(payloadBytes: Int, mtuBytes: Int) {
        self.payloadBytes = payloadBytes
        self.mtuBytes = mtuBytes
    }

    /// `payload:mtu`, or `nil` when it is not one.
    init?(argument: String) {
        guard let value = try? Self.parse(argument) else { return nil }
        self = value
    }

    /// `payload:mtu`.
    var defaultValueDescription: String { "\(self.payloadBytes):\(self.mtuBytes)" }

    /// Parses `payload:mtu`, or says what is wrong with it.
    static func parse(_ text: String) throws(ValidationError) -> Self {
        let (payload, mtu) = try FlagText.pair(
            text, shape: "payload:mtu", first: 1...WireConstants.maxPayloadBytes, second: 0...65535,
            defaultSecond: 1250)
        return Self(payloadBytes: payload, mtuBytes: mtu)
    }
}
