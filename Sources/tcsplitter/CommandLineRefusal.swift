import ArgumentParser

extension TCSplitterCommand {
    /// Ends the process for a command line argument-parser refused: help and `--version` are
    /// printed as argument-parser prints them; anything else (a bad value, an unknown flag) is
    /// one line on standard error, `tcsplitter: The value '0:1250' is invalid for '--frags
    /// <frags>': payload 0 is out of range 1...1048576`, and exit status 2, like a
    /// configuration the flags describe that cannot run.
    static func exitRefusingCommandLine(_ error: Error) -> Never {
        guard Self.exitCode(for: error) != .success else { Self.exit(withError: error) }
        FileHandleOutput.standardError("tcsplitter: \(Self.message(for: error))\n")
        Self.exit(withError: ExitCode(2))
    }
}
