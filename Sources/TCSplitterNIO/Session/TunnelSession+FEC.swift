import Logging
import NIOCore
import TCSplitterCore
import TCSplitterFEC

/// FEC for one session: parity for the groups it sends, rebuilds for the groups it receives.
extension TunnelSession {
    /// A group left open with no bytes waiting closes at the tock (at once with tock 0), so a
    /// quiet stream is never held back waiting for a full group.
    func scheduleGroupClose(now: NIODeadline) {
        guard let assembler = self.fecAssembler, assembler.hasOpenGroup, self.send.pendingBytes == 0,
            self.groupTimer == nil
        else { return }
        guard self.configuration.tockInterval > .zero, !self.send.inputEnded else {
            if let closed = self.fecAssembler!.closeOpenGroup() {
                self.sendParity(closed)
                self.link.dispatcher.drain()
            }
            return
        }
        self.groupTimer = self.schedule(at: now + self.configuration.tockInterval) { session in
            session.groupTimer = nil
            if let closed = session.fecAssembler?.closeOpenGroup() {
                session.sendParity(closed)
                session.link.dispatcher.drain()
            }
        }
    }

    func sendParity(_ group: FECGroupAssembler.ClosedGroup) {
        let parityCount = self.configuration.fecParityShards
        guard parityCount > 0, let codec = self.link.codec(dataShards: group.data.count, parityShards: parityCount)
        else { return }
        let size = group.shardBytes
        // The group's data shards back to back in one buffer (the last zero-padded), the form
        // the codec encodes without building arrays of shards.
        var contiguous = ByteBuffer()
        contiguous.reserveCapacity(group.data.count * size)
        for var shard in group.data {
            let bytes = shard.readableBytes
            contiguous.writeBuffer(&shard)
            if bytes < size { contiguous.writeRepeatingByte(0, count: size - bytes) }
        }
        var parityBytes = ByteBuffer()
        do {
            try codec.encodeParity(group: contiguous, shardBytes: size, into: &parityBytes)
        } catch {
            self.logger.error("FEC encode failed: \(error)")
            return
        }
        for index in 0..<parityCount {
            guard var shard = parityBytes.readSlice(length: size) else { break }
            var data = ByteBuffer()
            data.reserveCapacity(4 + size)
            data.writeInteger(UInt32(group.lastShardBytes))
            data.writeBuffer(&shard)
            let header = PayloadHeader(
                sessionID: self.id,
                offset: group.startOffset,
                group: group.group,
                shardIndex: UInt8(group.data.count + index),
                dataShards: UInt8(group.data.count),
                parityShards: UInt8(parityCount),
                flags: .parity
            )
            self.link.dispatcher.enqueue(session: self, header: header, data: data)
        }
    }

    func receivedParity(_ payload: PayloadFrame, now: NIODeadline) {
        // Parity of a group the window does not reach yet, or long delivered, is of no use.
        let limit = self.receive.consumedOffset + UInt64(self.configuration.windowBytes)
        guard payload.header.offset < limit, let rebuild = self.fecCollector?.parity(payload.header, payload.data)
        else { return }
        self.rebuild(rebuild, now: now)
    }

    func rebuild(_ request: FECShardCollector.Rebuild, now: NIODeadline) {
        guard !self.isEnded,
            let codec = self.link.codec(dataShards: request.dataCount, parityShards: request.parityCount)
        else { return }
        // Every slot of the group back to back in one buffer (missing ones zero, the last data
        // shard zero-padded); the codec rebuilds the missing data slots in place.
        let size = request.shardBytes
        var group = ByteBuffer()
        group.reserveCapacity(request.shards.count * size)
        var present = ShardSet()
        for (index, shard) in request.shards.enumerated() {
            guard var shard else {
                group.writeRepeatingByte(0, count: size)
                continue
            }
            present.insert(index)
            let bytes = min(shard.readableBytes, size)
            var slot = shard.readSlice(length: bytes)!
            group.writeBuffer(&slot)
            if bytes < size { group.writeRepeatingByte(0, count: size - bytes) }
        }
        do {
            try codec.reconstructData(group: &group, present: present, shardBytes: size)
        } catch {
            self.logger.debug("FEC could not rebuild group \(request.group): \(error)")
            return
        }
        self.link.counters.values.fecRebuilds += 1
        for index in 0..<request.dataCount where request.shards[index] == nil {
            let range = request.range(ofDataShard: index)
            guard var shard = group.getSlice(at: group.readerIndex + index * size, length: Int(range.count)) else {
                continue
            }
            shard.moveReaderIndex(to: shard.readerIndex)
            do {
                let ready = try self.receive.receive(offset: range.lowerBound, data: shard, now: now)
                self.deliver(ready, now: now)
            } catch {
                // A rebuilt shard outside the window or past the end: the group was forged.
                self.logger.debug("FEC rebuilt shard refused: \(error)")
            }
        }
        self.receiveMaybeComplete(now: now)
    }
}
