import Foundation

/// Where the `tcsplitter` binary under test is: next to the test runner, in the same build
/// folder (the test target depends on the executable target, so `--build-tests` builds it).
enum SplitterBinary {
    /// The binary's URL, or an error saying where it was looked for.
    /// `TCSPLITTER_BINARY` overrides it (e.g. a release build, to measure with the same tests).
    static func url() throws -> URL {
        if let override = ProcessInfo.processInfo.environment["TCSPLITTER_BINARY"], !override.isEmpty {
            guard FileManager.default.isExecutableFile(atPath: override) else {
                throw HarnessError("TCSPLITTER_BINARY=\(override) is not an executable file")
            }
            return URL(fileURLWithPath: override)
        }
        let runner = try FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")
        let binary = URL(fileURLWithPath: runner).deletingLastPathComponent().appendingPathComponent("tcsplitter")
        guard FileManager.default.isExecutableFile(atPath: binary.path) else {
            throw HarnessError(
                "no tcsplitter binary at \(binary.path) (next to the test runner \(runner)); "
                    + "build it with `swift build --build-tests`"
            )
        }
        return binary
    }
}

/// A harness failure, with a message that says what was expected and what happened.
struct HarnessError: Error, CustomStringConvertible {
    /// What went wrong.
    var description: String

    init(_ description: String) {
        self.description = description
    }
}
