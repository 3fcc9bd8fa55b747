/// Which end of the tunnel a process runs.
public enum Role: String, Hashable, Sendable, CustomStringConvertible {
    /// Accepts local connections on `--listen` and dials the server (`--rFling`, `--rSync`).
    case client
    /// Accepts the client's connections (`--lFling`, `--lSync`) and dials `--forward`.
    case server

    /// The name used in logs.
    public var description: String { self.rawValue }
}

/// The original's `--dup`: which connections carry which direction. The client chooses; it
/// declares its mode in every hello, so the server follows it without a flag of its own.
///
/// | mode  | fling connections (client dials)  | lasso connections (client dials) |
/// |-------|-----------------------------------|----------------------------------|
/// | fling | upstream and downstream           | none                             |
/// | lasso | upstream; downstream as fallback  | downstream, preferred            |
/// | both  | upstream and downstream           | downstream, equal footing        |
/// | none  | upstream only                     | downstream only                  |
public enum DupMode: String, Hashable, Sendable, CaseIterable {
    /// Client-dialed connections carry upstream payloads and downstream ones back.
    case fling
    /// The client also keeps lasso connections the server uses to push downstream data; they are
    /// preferred for downstream, and fling connections take it only when no lasso can.
    case lasso
    /// Both pools; downstream takes whichever connection is ready first.
    case both
    /// Simplex: each connection carries one direction only (fling up, lasso down).
    case none

    /// The byte that stands for the mode in a client hello.
    public var wireValue: UInt8 {
        switch self {
        case .fling: return 0
        case .lasso: return 1
        case .both: return 2
        case .none: return 3
        }
    }

    /// The mode a hello's byte stands for, if any.
    public init?(wireValue: UInt8) {
        guard let mode = Self.allCases.first(where: { $0.wireValue == wireValue }) else { return nil }
        self = mode
    }

    /// Whether the client keeps a pool of lasso connections.
    public var usesLassoes: Bool { self != .fling }

    /// Whether the server may send downstream payloads on a data connection of `kind`.
    public func serverSends(on kind: ConnectionKind) -> Bool {
        switch kind {
        case .sync: return false
        case .lasso: return self.usesLassoes
        case .fling: return self != .none
        }
    }

    /// Whether the client sends upstream payloads on a data connection of `kind` (lasso
    /// connections only ever carry downstream).
    public func clientSends(on kind: ConnectionKind) -> Bool {
        kind == .fling
    }

    /// The server's preference among connections for downstream payloads: lower is preferred,
    /// and a connection is taken only when none of a lower rank can carry the payload now.
    public func downstreamRank(of kind: ConnectionKind) -> Int {
        self == .lasso && kind == .fling ? 1 : 0
    }
}

/// The original's `--protocol`: what the local application speaks.
public enum LocalProtocol: String, Hashable, Sendable, CaseIterable {
    /// A byte stream.
    case tcp
    /// Datagrams.
    case udp
}
