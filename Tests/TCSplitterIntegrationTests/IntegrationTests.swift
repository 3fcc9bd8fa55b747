import Testing

/// The real `tcsplitter` binary, client and server processes on loopback.
///
/// Serialized (recursively, for the nested suites in the other files): every test runs two
/// processes that move megabytes, and on two shared cores parallel tests would only make each
/// other's time limits flaky.
@Suite("tcsplitter end to end", .serialized)
struct IntegrationTests {}

/// Byte counts, spelled as in the flags.
enum Size {
    /// 1 MiB.
    static let mebibyte = 1 << 20
}
