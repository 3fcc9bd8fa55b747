import ArgumentParser
import TCSplitterCore

/// `--clocks adaptive|fixed`: whether the tick, tock and buffer make bytes wait only when waiting
/// can merge them (adaptive) or always, as the original did (fixed).
enum ClocksMode: String, Hashable, Sendable, CaseIterable, ExpressibleByArgument {
    /// Bytes wait only when waiting can merge them with others (Nagle's rule).
    case adaptive
    /// The original's clocks, always.
    case fixed

    /// The mode named by `argument`, in any case.
    init?(argument: String) {
        self.init(rawValue: argument.trimmingSpaces().lowercased())
    }
}
