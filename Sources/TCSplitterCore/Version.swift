/// The release of tcsplitter this build is (`tcsplitter --version`, the metrics' build info).
public enum TCSplitterVersion {
    /// Semantic version of the program; the wire format has its own version byte
    /// (`WireConstants.version`), which only changes when the frames do.
    public static let current = "0.9.0"
}
