import ArgumentParser

/// A size flag in bytes, with an optional binary suffix: `4194304`, `4MiB`, `512KiB`, `8GiB`.
struct ByteCount: Hashable, Sendable, ExpressibleByArgument {
    /// The number of bytes.
    var bytes: Int

    /// `bytes` bytes.
    init(bytes: Int) {
        self.bytes = bytes
    }

    /// Any byte count from 0 up.
    init?(argument: String) {
        guard let bytes = try? FlagText.byteCount(argument, in: 0...Int.max) else { return nil }
        self.bytes = bytes
    }

    /// The count in the largest binary unit that states it exactly (`8GiB`, `256KiB`, `1000`).
    var defaultValueDescription: String {
        for (shift, unit) in [(30, "GiB"), (20, "MiB"), (10, "KiB")] where self.bytes > 0 {
            if self.bytes % (1 << shift) == 0 { return "\(self.bytes >> shift)\(unit)" }
        }
        return "\(self.bytes)"
    }

    /// A parser of byte counts within `range`.
    static func parser(in range: ClosedRange<Int>) -> @Sendable (String) throws -> Self {
        { text in Self(bytes: try FlagText.byteCount(text, in: range)) }
    }
}
