import ArgumentParser

/// `--fec data:parity`: Reed-Solomon shards per group, each 0 to 255. `0` (`0:0`) is off.
struct DataAndParity: Hashable, Sendable, ExpressibleByArgument {
    /// Data payloads per group; 0 turns FEC off.
    var dataShards: Int
    /// Parity payloads per group.
    var parityShards: Int

    /// A group shape.
    init(dataShards: Int, parityShards: Int) {
        self.dataShards = dataShards
        self.parityShards = parityShards
    }

    /// `data:parity`, or `nil` when it is not one.
    init?(argument: String) {
        guard let value = try? Self.parse(argument) else { return nil }
        self = value
    }

    /// `data:parity`.
    var defaultValueDescription: String { "\(self.dataShards):\(self.parityShards)" }

    /// Parses `data:parity` (a single number has no parity), or says what is wrong with it.
    static func parse(_ text: String) throws(ValidationError) -> Self {
        let (data, parity) = try FlagText.pair(
            text, shape: "data:parity", first: 0...255, second: 0...255, defaultSecond: 0)
        return Self(dataShards: data, parityShards: parity)
    }
}
