import ArgumentParser
import TCSplitterCore

/// The pre-shared key. Shown under "Security" in `--help`.
struct SecurityOptions: ParsableArguments {
    @Option(
        name: .customLong("key"),
        help:
            "Pre-shared key (at least 16 bytes; same on both ends): every connection proves it, every frame is authenticated and encrypted (ChaCha20-Poly1305). Visible in ps: prefer --key-file or the TCSPLITTER_KEY environment variable."
    )
    var key: String?

    @Option(name: .customLong("key-file"), help: "File whose first line is the pre-shared key.")
    var keyFile: String?
}
