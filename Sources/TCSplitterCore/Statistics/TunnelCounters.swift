/// Running totals of one tunnel end since it started: what the status report and the metrics
/// show. Plain integers, added to on the end's event loop as things happen (never per byte, at most
/// once per read, write or payload), and copied whole into an `EndStatistics` snapshot.
///
/// "Sent" is toward the peer end, "received" from it: on the client, sent bytes are what local
/// applications wrote; on the server, what the `--forward` service wrote.
public struct TunnelCounters: Hashable, Sendable {
    /// Sessions begun (a local connection accepted, or an `open` from the client served).
    public var sessionsOpened = 0
    /// Sessions that ended in order: every byte delivered both ways.
    public var sessionsClosed = 0
    /// Sessions that ended with an error, a reset, or at shutdown.
    public var sessionsAborted = 0
    /// Sessions ended, by the kind of their reason (`SessionEndReason.Kind`).
    public var sessionsEnded: [SessionEndReason.Kind: Int] = [:]
    /// Connections that completed their hello, by kind (sync, fling, lasso).
    public var connectionsOpened: [ConnectionKind: Int] = [:]
    /// Stream bytes read from local sockets, to be carried to the peer.
    public var bytesSent = 0
    /// Stream bytes from the peer written to local sockets (and taken by them).
    public var bytesReceived = 0
    /// Payload frames written on data connections (stream data, FEC parity and resends).
    public var payloadsSent = 0
    /// Payload frames read from data connections.
    public var payloadsReceived = 0
    /// Payloads sent again (`--retries`): asked for by the peer, or carried by a dead connection.
    public var payloadsResent = 0
    /// Payload data bytes put on data connections: stream data, FEC parity and resends.
    public var wireBytesSent = 0
    /// Stream bytes the peer acknowledged (its local socket took them).
    public var bytesAcknowledged = 0
    /// Requests sent to the peer to resend missing ranges (`--retries`).
    public var resendRequests = 0
    /// FEC groups whose lost data shards were rebuilt from parity (`--fec`).
    public var fecRebuilds = 0
    /// Missing ranges given up on (`--retries` skip), and the bytes they held.
    public var skips = 0
    /// Bytes lost to skips.
    public var skippedBytes = 0
    /// Payloads that named no live session (late, or forged), dropped.
    public var orphanPayloads = 0

    /// No events yet.
    public init() {}
}
