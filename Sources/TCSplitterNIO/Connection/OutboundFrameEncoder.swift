import NIOCore
import TCSplitterCore

/// Turns frames into the buffers a tunnel connection writes, in the clear or sealed with the
/// connection's cipher. Stateless: the connection handler hands each buffer it emits to its
/// channel.
///
/// ```
/// clear payload:  [ envelope + payload header ] [ data, as is (no copy) ]
/// sealed frame:   [ envelope, length = body + tag ] [ encrypted body + tag ]
/// hellos:         always clear (they carry the nonces the cipher is keyed with)
/// ```
enum OutboundFrameEncoder {
    /// Emits the buffers of one payload frame: its header and its data as they are in the clear,
    /// or one sealed frame with a cipher.
    static func encodePayload(
        _ header: PayloadHeader,
        data: ByteBuffer,
        cipher: FrameCipher?,
        allocator: ByteBufferAllocator,
        emit: (ByteBuffer) -> Void
    ) throws {
        guard let cipher else {
            var head = allocator.buffer(capacity: WireConstants.payloadFrameHeaderBytes)
            head.writePayloadFrameHeader(header, dataBytes: data.readableBytes)
            emit(head)
            if data.readableBytes > 0 { emit(data) }
            return
        }
        var frame = allocator.buffer(capacity: WireConstants.payloadFrameHeaderBytes + data.readableBytes)
        frame.writePayloadFrameHeader(header, dataBytes: data.readableBytes)
        var data = data
        frame.writeBuffer(&data)
        try Self.seal(frame: frame, type: .payload, cipher: cipher, allocator: allocator, emit: emit)
    }

    /// Emits the buffers of any other frame: sealed when there is a cipher, except hellos.
    static func encode(
        _ frame: Frame, cipher: FrameCipher?, allocator: ByteBufferAllocator, emit: (ByteBuffer) -> Void
    )
        throws
    {
        var buffer = allocator.buffer(capacity: 64)
        buffer.writeFrame(frame)
        guard let cipher, !Frame.isHello(frame.type) else {
            emit(buffer)
            return
        }
        try Self.seal(frame: buffer, type: frame.type, cipher: cipher, allocator: allocator, emit: emit)
    }

    /// A whole clear frame (envelope + body) sealed: the same envelope with the tag counted in
    /// its length, then the encrypted body and tag.
    private static func seal(
        frame: ByteBuffer, type: FrameType, cipher: FrameCipher, allocator: ByteBufferAllocator,
        emit: (ByteBuffer) -> Void
    ) throws {
        guard
            let body = frame.getSlice(
                at: frame.readerIndex + WireConstants.frameHeaderBytes,
                length: frame.readableBytes - WireConstants.frameHeaderBytes)
        else { return }
        var header = allocator.buffer(capacity: WireConstants.frameHeaderBytes)
        header.writeFrameHeader(type: type, bodyBytes: body.readableBytes + FrameCipher.tagBytes)
        let sealed = try cipher.seal(header: header, body: body, allocator: allocator)
        emit(header)
        emit(sealed)
    }
}
