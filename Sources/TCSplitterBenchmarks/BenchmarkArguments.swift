/// The arguments every benchmark takes: `[--seconds S]`, the least time each case runs.
enum BenchmarkArguments {
    /// The minimum seconds per case (default 0.3), or `nil` after printing usage for `name`.
    static func minimumSeconds(_ arguments: [String], benchmark name: String) -> Double? {
        switch arguments.count {
        case 0:
            return 0.3
        case 2 where arguments[0] == "--seconds" && (Double(arguments[1]) ?? 0) > 0:
            return Double(arguments[1])
        default:
            print("usage: TCSplitterBenchmarks \(name) [--seconds S (default 0.3)]")
            return nil
        }
    }
}
