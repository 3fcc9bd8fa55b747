import ArgumentParser
import TCSplitterCore

/// A `host:port` flag where the original's `0` (or nothing) is off: `--rFling 0`, `--metrics 0`.
/// Spellings as `EndpointAddress.parse` takes them: `127.0.0.1:6000`, `[::1]:6000`, `:6000`.
struct AddressOrOff: Hashable, Sendable, ExpressibleByArgument {
    /// Off.
    static let off = Self(address: nil)

    /// The address, or `nil` for off.
    var address: EndpointAddress?

    /// `address`, or off for `nil`.
    init(address: EndpointAddress?) {
        self.address = address
    }

    /// `host:port` or `0`, or `nil` when it is neither.
    init?(argument: String) {
        guard let value = try? Self.parse(argument) else { return nil }
        self = value
    }

    /// `host:port`, or `0` for off.
    var defaultValueDescription: String { self.address?.description ?? "0" }

    /// Parses `host:port` or `0`, or says what is wrong with it.
    static func parse(_ text: String) throws(ValidationError) -> Self {
        do throws(ConfigurationError) {
            return Self(address: try EndpointAddress.parse(text, flag: ""))
        } catch {
            throw ValidationError(error.message)
        }
    }
}
