/// The type byte of a frame.
public enum FrameType: UInt8, Sendable, CaseIterable {
    /// Server → client, first frame on every connection.
    case serverHello = 0x01
    /// Client → server, answer to the server hello.
    case clientHello = 0x02
    /// A slice of a session's byte stream (fling and lasso connections).
    case payload = 0x10
    /// Sync: client asks the server to open a session.
    case open = 0x20
    /// Sync: the server reached `--forward` for the session.
    case opened = 0x21
    /// Sync: the server could not reach `--forward`.
    case openFailed = 0x22
    /// Sync: the sender will send no byte at or past this offset (half-close).
    case finish = 0x23
    /// Sync: acknowledgement and progress of one session.
    case progress = 0x24
    /// Sync: abort a session.
    case reset = 0x25
    /// Sync: keepalive request.
    case ping = 0x26
    /// Sync: keepalive answer.
    case pong = 0x27
    /// Sync: the receiver asks for byte ranges again (retries).
    case resend = 0x28
    /// Sync: the server is near the end of its budget on one data connection (dial its replacement).
    case replace = 0x29
}
