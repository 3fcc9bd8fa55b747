/// Sizes and limits of wire format v2 (v2: hellos declare the client's tuning and the settings both ends share; payloads may carry `push`), in one place (as smux's `frame.go` and wireguard-go's `constants.go`).
public enum WireConstants {
    /// The two bytes every frame starts with: ASCII "TC".
    public static let magic: UInt16 = 0x5443
    /// The only version this build speaks.
    public static let version: UInt8 = 2
    /// magic(2) + version(1) + type(1) + bodyLength(4).
    public static let frameHeaderBytes = 8
    /// sessionID(8) + offset(8) + group(4) + shardIndex(1) + dataShards(1) + parityShards(1) + flags(1).
    public static let payloadHeaderBytes = 24
    /// Everything a payload frame carries besides its data: the frame and payload headers.
    public static let payloadFrameHeaderBytes = frameHeaderBytes + payloadHeaderBytes
    /// Bytes of a hello nonce.
    public static let nonceBytes = 16
    /// The largest proof a client hello may carry (an HMAC-SHA256 is 32).
    public static let maxProofBytes = 64
    /// The largest body of any frame other than a payload.
    public static let maxControlBodyBytes = 1024
    /// The largest reason text carried by `openFailed` and `reset`, in UTF-8 bytes.
    public static let maxReasonBytes = 512
    /// The most selective-acknowledgement ranges one `progress` carries.
    public static let maxSelectiveRanges = 8
    /// The most ranges one `resend` asks for.
    public static let maxResendRanges = 16
    /// The largest payload any configuration may choose (`--frags`), in bytes.
    public static let maxPayloadBytes = 1 << 20
    /// Room reserved after payload data for an authentication tag.
    public static let maxTagBytes = 32
}
