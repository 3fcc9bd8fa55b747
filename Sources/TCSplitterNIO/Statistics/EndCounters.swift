import NIOCore
import TCSplitterCore

/// The running totals of one end, shared by its links and sessions (the server has a link per
/// client end, so the totals cannot live in one). Only touched on the end's event loop; adding to
/// it is a plain integer add, cheap enough for the data path.
final class EndCounters {
    /// The totals so far.
    var values = TunnelCounters()
    /// When the end began counting (its uptime is measured from here).
    let startedAt: NIODeadline

    /// Totals that start at zero, now.
    init(startedAt: NIODeadline = .now()) {
        self.startedAt = startedAt
    }
}
