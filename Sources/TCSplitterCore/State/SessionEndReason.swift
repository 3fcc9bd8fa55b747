/// Why a session ended: logged, counted by `kind` in the status report and the metrics
/// (`tcsplitter_sessions_ended_by_reason_total{reason=…}`), and sent to the peer as text in a
/// `reset` when the end was abortive.
public enum SessionEndReason: Hashable, Sendable, CustomStringConvertible {
    /// Both directions completed: every byte delivered and acknowledged, both half-closes passed.
    case closed
    /// A UDP session saw no datagram either way for `--udp-idle-timeout`.
    case udpIdle(milliseconds: Int64)
    /// The local socket failed (an error, or a write that did not complete).
    case localFailed(String)
    /// The local application closed before its input ended, or with bytes still to deliver.
    case localClosedEarly(undeliveredBytes: UInt64)
    /// The peer reset the session (its text).
    case resetByPeer(String)
    /// The server refused to open the session (its text).
    case refusedByServer(String)
    /// The server did not answer the open in time.
    case openTimedOut(milliseconds: Int64)
    /// The server could not be reached (sync connection dials failing, or refused).
    case serverUnreachable
    /// The server end could not reach the service (`--forward`, or a transparent destination).
    case forwardUnreachable
    /// Bytes missing for `--stall-timeout` (a lost payload without retries or FEC); the detail
    /// says which and what the receiver held.
    case stalled(String)
    /// The sync connection stayed down past its grace time.
    case syncLost
    /// The peer sent something the stream cannot take (its description).
    case peerBrokeStream(String)
    /// This end is stopping.
    case shutdown
    /// An internal accounting check failed (a bug; its description).
    case internalError(String)

    /// The reason's kind: the label counters and metrics use.
    public enum Kind: String, Hashable, Sendable, CaseIterable {
        case closed
        case udpIdle = "udp_idle"
        case localFailed = "local_failed"
        case localClosedEarly = "local_closed_early"
        case resetByPeer = "reset_by_peer"
        case refusedByServer = "refused_by_server"
        case openTimedOut = "open_timed_out"
        case serverUnreachable = "server_unreachable"
        case forwardUnreachable = "forward_unreachable"
        case stalled
        case syncLost = "sync_lost"
        case peerBrokeStream = "peer_broke_stream"
        case shutdown
        case internalError = "internal_error"
    }

    /// This reason's kind.
    public var kind: Kind {
        switch self {
        case .closed: return .closed
        case .udpIdle: return .udpIdle
        case .localFailed: return .localFailed
        case .localClosedEarly: return .localClosedEarly
        case .resetByPeer: return .resetByPeer
        case .refusedByServer: return .refusedByServer
        case .openTimedOut: return .openTimedOut
        case .serverUnreachable: return .serverUnreachable
        case .forwardUnreachable: return .forwardUnreachable
        case .stalled: return .stalled
        case .syncLost: return .syncLost
        case .peerBrokeStream: return .peerBrokeStream
        case .shutdown: return .shutdown
        case .internalError: return .internalError
        }
    }

    /// Whether the session ended abortively: its local connection is reset, not closed, and it
    /// counts among the aborted sessions. A UDP session that went idle ends cleanly.
    public var isAbortive: Bool {
        switch self {
        case .closed, .udpIdle: return false
        default: return true
        }
    }

    /// One sentence for the log and for the peer's `reset`.
    public var description: String {
        switch self {
        case .closed: return "closed"
        case .udpIdle(let milliseconds): return "UDP session idle for \(milliseconds) ms"
        case .localFailed(let detail): return detail
        case .localClosedEarly(let undelivered):
            return undelivered == 0
                ? "local connection closed before its input ended"
                : "local connection closed with \(undelivered) bytes undelivered"
        case .resetByPeer(let detail): return "reset by the peer: \(detail)"
        case .refusedByServer(let detail): return "refused by the server: \(detail)"
        case .openTimedOut(let milliseconds): return "the server did not open the session within \(milliseconds) ms"
        case .serverUnreachable: return "the server cannot be reached"
        case .forwardUnreachable: return "forward unreachable"
        case .stalled(let detail): return detail
        case .syncLost: return "sync connection lost"
        case .peerBrokeStream(let detail): return "peer broke the stream: \(detail)"
        case .shutdown: return "the tunnel end is stopping"
        case .internalError(let detail): return "internal accounting error: \(detail)"
        }
    }
}
