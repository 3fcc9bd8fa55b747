/// Which end of the tunnel a process runs.
public enum Role: String, Hashable, Sendable, CustomStringConvertible {
    /// Accepts local connections on `--listen` and dials the server (`--rFling`, `--rSync`).
    case client
    /// Accepts the client's connections (`--lFling`, `--lSync`) and dials `--forward`.
    case server

    /// The name used in logs.
    public var description: String { self.rawValue }
}

/// The original's `--dup`: which connections carry which direction.
public enum DupMode: String, Hashable, Sendable, CaseIterable {
    /// Client-dialed connections carry upstream payloads and downstream ones back.
    case fling
    /// The client also keeps lasso connections the server uses to push downstream data.
    case lasso
    /// Both pools; downstream takes whichever is ready first.
    case both
    /// Simplex: each connection carries one direction only.
    case none
}

/// The original's `--protocol`: what the local application speaks.
public enum LocalProtocol: String, Hashable, Sendable, CaseIterable {
    /// A byte stream.
    case tcp
    /// Datagrams.
    case udp
}
