import NIOCore

/// Cuts a tunnel connection's bytes, as reads deliver them, into whole frame envelopes, copying
/// as little as possible.
///
/// A frame that lies whole inside one read is sliced out of it (no copy). A frame cut by the end
/// of a read is gathered into a buffer of exactly its length (known from its envelope, whose
/// limits are checked first) and completed from the following reads, so each of its bytes is
/// copied once. Nothing else is buffered: at most one partial frame, never more than
/// `FrameLimits` allows. (NIO's `ByteToMessageHandler` appends every read to one growing buffer
/// and moves the unread rest to its front; with payloads of 64 KiB nearly every frame is cut
/// by a read, and those moves and the copies forced by payload slices still sharing the buffer
/// cost more CPU than the rest of the receive path.)
///
///     read 1                      read 2                 read 3
///     [frame A][frame B][frame C..|..frame C..........|...C][frame D]
///      slice    slice    gathered: one copy of C's bytes     slice
///
/// Usage: `append` each read, then take envelopes with `next()` until it returns `nil`. On a
/// throw the connection must be closed: the stream cannot be resynchronised.
public struct FrameAssembler {
    /// The limits on frame lengths.
    public let limits: FrameLimits
    /// The current read's bytes not yet cut into frames.
    private var input = ByteBuffer()
    /// A frame begun in an earlier read, with room for all of it once its envelope is whole.
    private var partial: ByteBuffer?

    /// An assembler with nothing buffered.
    public init(limits: FrameLimits) {
        self.limits = limits
    }

    /// Bytes held for a frame not yet complete (what a connection ending now would cut).
    public var bufferedBytes: Int {
        (self.partial?.readableBytes ?? 0) + self.input.readableBytes
    }

    /// Takes the bytes of one read. Call `next()` until it returns `nil` before the next read.
    public mutating func append(_ read: ByteBuffer) {
        if self.input.readableBytes == 0 {
            self.input = read
        } else {
            var read = read
            self.input.writeBuffer(&read)  // only if the caller skipped draining with next()
        }
    }

    /// The next whole frame's envelope, or `nil` when more bytes are needed.
    public mutating func next() throws(FrameDecodingError) -> FrameEnvelope? {
        if self.partial != nil {
            return try self.continuePartial()
        }
        if let envelope = try self.input.readFrameEnvelope(limits: self.limits) {
            return envelope
        }
        guard self.input.readableBytes > 0 else {
            self.input = ByteBuffer()  // drop the reference to the read's storage
            return nil
        }
        // A frame cut by the end of this read: gather it in a buffer of its own.
        let frameBytes = try self.input.peekFrameBytes(limits: self.limits) ?? WireConstants.frameHeaderBytes
        var partial = ByteBufferAllocator().buffer(capacity: max(frameBytes, self.input.readableBytes))
        partial.writeBuffer(&self.input)
        self.input = ByteBuffer()
        self.partial = partial
        return nil
    }

    /// Moves bytes of the current read into the partial frame; returns it once whole.
    private mutating func continuePartial() throws(FrameDecodingError) -> FrameEnvelope? {
        guard var partial = self.partial else { return nil }
        self.partial = nil  // one reference, so writing into it does not copy it
        if partial.readableBytes < WireConstants.frameHeaderBytes {
            self.move(upTo: WireConstants.frameHeaderBytes - partial.readableBytes, into: &partial)
        }
        guard let frameBytes = try partial.peekFrameBytes(limits: self.limits) else {
            self.partial = partial  // the read ended inside the envelope
            return nil
        }
        if partial.readableBytes < frameBytes {
            partial.reserveCapacity(minimumWritableBytes: frameBytes - partial.readableBytes)  // no-op once sized
            self.move(upTo: frameBytes - partial.readableBytes, into: &partial)
        }
        guard let envelope = try partial.readFrameEnvelope(limits: self.limits) else {
            self.partial = partial
            return nil
        }
        return envelope
    }

    private mutating func move(upTo count: Int, into partial: inout ByteBuffer) {
        guard var chunk = self.input.readSlice(length: min(count, self.input.readableBytes)) else { return }
        partial.writeBuffer(&chunk)
    }
}
