#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Micro-benchmarks, one per module: `TCSplitterBenchmarks <name> [arguments...]`.
///
/// Each entry is `(name, one-line summary, run)`; `run` gets the remaining arguments and returns
/// the process exit status. Build with `-c release` before trusting any number.
let benchmarks: [(name: String, summary: String, run: ([String]) -> Int32)] = [
    ("fec", "Reed-Solomon encode/decode GB/s: ReedSolomonCodec vs raw ISA-L", FECBenchmarks.run),
    ("hotpath", "stream GB/s through the packer, the reassembler and the frame codec", HotPathBenchmarks.run),
]

/// The command line without the program name: `<benchmark> [arguments...]`.
let arguments = Array(CommandLine.arguments.dropFirst())
if let name = arguments.first, let benchmark = benchmarks.first(where: { $0.name == name }) {
    exit(benchmark.run(Array(arguments.dropFirst())))
}
print("usage: TCSplitterBenchmarks <benchmark> [arguments...]\n\nbenchmarks:")
for benchmark in benchmarks {
    print("  \(benchmark.name)\t\(benchmark.summary)")
}
exit(arguments.isEmpty || arguments.first == "--help" ? 0 : 2)
