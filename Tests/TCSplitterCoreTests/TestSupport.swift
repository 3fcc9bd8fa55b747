import NIOCore
import TCSplitterCore
@_exported import TCSplitterTestSupport

/// `value` as big-endian bytes, for building frames by hand.
func be<T: FixedWidthInteger>(_ value: T) -> [UInt8] {
    withUnsafeBytes(of: value.bigEndian) { Array($0) }
}

/// A frame envelope written by hand: magic "TC", version 1, `type`, the body's length, the body.
func envelope(type: UInt8, body: [UInt8], version: UInt8 = WireConstants.version) -> [UInt8] {
    [0x54, 0x43, version, type] + be(UInt32(body.count)) + body
}

/// The bytes `writeFrame` produces for `frame`.
func encoded(_ frame: Frame) -> [UInt8] {
    var buffer = ByteBuffer()
    buffer.writeFrame(frame)
    return buffer.bytes
}

/// What one `readFrame` call made of `bytes`: the frame (or `nil`, or the error), and how many
/// bytes it left unread.
struct DecodeOutcome: Equatable {
    var result: Result<Frame?, FrameDecodingError>
    var unread: Int
}

/// Runs one `readFrame` over `bytes`.
func decode(_ bytes: [UInt8], maxPayloadBytes: Int = 1 << 16) -> DecodeOutcome {
    var buffer = ByteBuffer(bytes: bytes)
    let result: Result<Frame?, FrameDecodingError>
    do {
        result = .success(try buffer.readFrame(limits: FrameLimits(maxPayloadBytes: maxPayloadBytes)))
    } catch {
        result = .failure(error)
    }
    return DecodeOutcome(result: result, unread: buffer.readableBytes)
}

/// The error `readFrame` threw for `bytes`, if it threw; it must also have left every byte unread.
func decodeError(_ bytes: [UInt8], maxPayloadBytes: Int = 1 << 16) -> FrameDecodingError? {
    let outcome = decode(bytes, maxPayloadBytes: maxPayloadBytes)
    guard case .failure(let error) = outcome.result else { return nil }
    return outcome.unread == bytes.count ? error : nil
}

/// The frame `readFrame` returned for `bytes`, if it consumed exactly all of them.
func decodeWhole(_ bytes: [UInt8], maxPayloadBytes: Int = 1 << 16) -> Frame? {
    let outcome = decode(bytes, maxPayloadBytes: maxPayloadBytes)
    guard case .success(let frame) = outcome.result, outcome.unread == 0 else { return nil }
    return frame
}
