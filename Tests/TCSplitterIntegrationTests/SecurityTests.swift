import NIOConcurrencyHelpers
import NIOCore
import NIOPosix
import TCSplitterCore
import TCSplitterTools
import Testing

@testable import TCSplitterNIO

extension IntegrationTests {
    /// Hostile peers against a keyed server while a real transfer runs beside them: each attack
    /// only gets its own connection closed, and the transfer stays byte-exact.
    @Suite("Hostile input")
    struct SecurityTests {
        static let secret = "integration-test-key-0123456789"
        static let flags = [
            "--key", secret, "--tick", "0", "--tock", "0", "--buffer", "0", "--hello-timeout", "1000",
        ]

        @Test(
            "Wrong key, replayed hello, flipped bit, unauthenticated frame, truncated frame, oversize length, garbage and slow-loris each lose only their own connection",
            .timeLimit(.minutes(1))
        )
        func attacksBesideATransfer() async throws {
            try await withEventLoopGroup { group in
                try await withEchoService(group: group) { echoPort in
                    try await withProcesses { scope in
                        let tunnel = try await scope.startTunnel(forwardPort: echoPort, flags: Self.flags)
                        let port = tunnel.server.flingPort
                        let transfer = ProbeClient.run(
                            host: "127.0.0.1", port: tunnel.listenPort, bytes: 32 * Size.mebibyte, seed: 9,
                            timeout: .seconds(50), group: group)
                        let key = try PreSharedKey(secret: Self.secret)
                        let wrongKey = try PreSharedKey(secret: "not-the-right-key-at-all-000")
                        var results: [String: Bool] = [:]

                        results["wrong key"] = try await Attacker.closed(port: port, group: group) { peer in
                            _ = try await peer.handshake(key: wrongKey)
                        }
                        var recorded: ByteBuffer?
                        results["honest hello"] = try await Attacker.closed(port: port, group: group, expectOpen: true)
                        { peer in
                            recorded = try await peer.handshake(key: key).hello
                        }
                        let replay = recorded!
                        results["replayed hello"] = try await Attacker.closed(port: port, group: group) { peer in
                            _ = try await peer.serverHello()
                            try await peer.send(replay)
                        }
                        results["flipped bit"] = try await Attacker.closed(port: port, group: group) { peer in
                            let (_, cipher) = try await peer.handshake(key: key)
                            var frame = Attacker.sealedPayload(cipher: cipher)
                            let index = frame.readerIndex + frame.readableBytes - 3
                            frame.setInteger(frame.getInteger(at: index, as: UInt8.self)! ^ 0x10, at: index)
                            try await peer.send(frame)
                        }
                        results["unauthenticated frame"] = try await Attacker.closed(port: port, group: group) { peer in
                            _ = try await peer.handshake(key: key)
                            var clear = ByteBuffer()
                            clear.writeFrame(
                                .payload(
                                    PayloadFrame(
                                        header: PayloadHeader(sessionID: SessionID(rawValue: 1), offset: 0),
                                        data: ByteBuffer(string: "injected"))))
                            try await peer.send(clear)
                        }
                        results["truncated frame"] = try await Attacker.closed(port: port, group: group) { peer in
                            let (_, cipher) = try await peer.handshake(key: key)
                            let frame = Attacker.sealedPayload(cipher: cipher)
                            try await peer.send(frame.getSlice(at: frame.readerIndex, length: frame.readableBytes / 2)!)
                            try await peer.shutdownOutput()
                        }
                        results["oversize length"] = try await Attacker.closed(port: port, group: group) { peer in
                            _ = try await peer.serverHello()
                            var header = ByteBuffer()
                            header.writeFrameHeader(type: .payload, bodyBytes: Int(UInt32.max))
                            try await peer.send(header)
                        }
                        results["garbage"] = try await Attacker.closed(port: port, group: group) { peer in
                            var generator = SplitMix64(seed: 5)
                            var garbage = ByteBuffer()
                            generator.fill(&garbage, count: 64 * 1024)
                            try await peer.send(garbage)
                        }
                        results["slow-loris"] = try await Attacker.closed(port: port, group: group) { peer in
                            try await peer.send(ByteBuffer(bytes: [0x54]))  // one byte, then nothing
                        }
                        let peak = try tunnel.server.process.peakResidentBytes()

                        let result = try await transfer.get()
                        #expect(result.isExact, "the transfer beside the attacks lost bytes\n\(scope.diagnostics)")
                        for (attack, closed) in results where attack != "honest hello" {
                            #expect(closed, "\(attack): the server kept the connection open")
                        }
                        #expect(results["honest hello"] == false, "an honest keyed hello was refused")
                        #expect(
                            tunnel.server.process.standardError.count(of: "session aborted") == 0,
                            "\(scope.diagnostics)")
                        #expect(peak < 128 * Size.mebibyte, "server peak RSS \(peak) bytes")
                    }
                }
            }
        }

        @Test(
            "A flood of 200 connections that never say hello is cut off; the transfer beside is unharmed",
            .timeLimit(.minutes(1)))
        func connectionFlood() async throws {
            try await withEventLoopGroup { group in
                try await withEchoService(group: group) { echoPort in
                    try await withProcesses { scope in
                        let tunnel = try await scope.startTunnel(forwardPort: echoPort, flags: Self.flags)
                        let transfer = ProbeClient.run(
                            host: "127.0.0.1", port: tunnel.listenPort, bytes: 16 * Size.mebibyte, seed: 3,
                            timeout: .seconds(50), group: group)
                        let closes = try await withThrowingTaskGroup(of: Bool.self) { tasks in
                            for _ in 0..<200 {
                                tasks.addTask {
                                    try await Attacker.closed(port: tunnel.server.flingPort, group: group) { _ in }
                                }
                            }
                            var closed = 0
                            for try await result in tasks where result { closed += 1 }
                            return closed
                        }
                        #expect(closes == 200)
                        let result = try await transfer.get()
                        #expect(result.isExact, "\(scope.diagnostics)")
                    }
                }
            }
        }
    }
}

/// A raw peer of the server's fling port, for attacks.
enum Attacker {
    /// Connects, runs `attack`, then waits up to `within` for the server to close the
    /// connection. Returns whether it did (with `expectOpen`, gives up sooner).
    static func closed(
        port: Int,
        group: EventLoopGroup,
        expectOpen: Bool = false,
        within: Duration = .seconds(5),
        _ attack: (inout Peer) async throws -> Void
    ) async throws -> Bool {
        let channel = try await ClientBootstrap(group: group)
            .channelOption(.allowRemoteHalfClosure, value: true)
            .connect(host: "127.0.0.1", port: port) { channel in
                channel.eventLoop.makeCompletedFuture {
                    try NIOAsyncChannel<ByteBuffer, ByteBuffer>(
                        wrappingChannelSynchronously: channel,
                        configuration: .init(isOutboundHalfClosureEnabled: true)
                    )
                }
            }
        return try await channel.executeThenClose { inbound, outbound in
            var peer = Peer(iterator: inbound.makeAsyncIterator(), outbound: outbound)
            do {
                try await attack(&peer)
            } catch {
                return true  // the server closed while the attack ran
            }
            return await peer.waitForClose(within: expectOpen ? .milliseconds(500) : within, channel: channel.channel)
        }
    }

    /// A sealed payload frame for an unknown session (harmless if it were accepted).
    static func sealedPayload(cipher: FrameCipher) -> ByteBuffer {
        var frame = ByteBuffer()
        frame.writePayloadFrameHeader(PayloadHeader(sessionID: SessionID(rawValue: 77), offset: 0), dataBytes: 100)
        frame.writeRepeatingByte(0x41, count: 100)
        let body = frame.getSlice(at: 8, length: frame.readableBytes - 8)!
        var header = ByteBuffer()
        header.writeFrameHeader(type: .payload, bodyBytes: body.readableBytes + FrameCipher.tagBytes)
        var sealed = try! cipher.seal(header: header, body: body, allocator: ByteBufferAllocator())
        header.writeBuffer(&sealed)
        return header
    }

    /// One raw connection's two sides.
    struct Peer {
        var iterator: NIOAsyncChannelInboundStream<ByteBuffer>.AsyncIterator
        let outbound: NIOAsyncChannelOutboundWriter<ByteBuffer>
        var buffered = ByteBuffer()

        init(
            iterator: NIOAsyncChannelInboundStream<ByteBuffer>.AsyncIterator,
            outbound: NIOAsyncChannelOutboundWriter<ByteBuffer>
        ) {
            self.iterator = iterator
            self.outbound = outbound
        }

        mutating func send(_ bytes: ByteBuffer) async throws {
            try await self.outbound.write(bytes)
        }

        mutating func shutdownOutput() async throws {
            self.outbound.finish()
        }

        /// Reads the server's greeting.
        mutating func serverHello() async throws -> ServerHello {
            while true {
                if case .serverHello(let hello)? = try self.buffered.readFrame(
                    limits: FrameLimits(maxPayloadBytes: 1024))
                {
                    return hello
                }
                guard var chunk = try await self.iterator.next() else { throw ChannelError.eof }
                self.buffered.writeBuffer(&chunk)
            }
        }

        /// A full client hello with `key`; returns the hello's bytes and the connection cipher.
        mutating func handshake(key: PreSharedKey) async throws -> (hello: ByteBuffer, cipher: FrameCipher) {
            let server = try await self.serverHello()
            let nonce = HelloNonce.random()
            let client = ClientID(rawValue: 0xA77AC4)
            let proof = key.proof(serverNonce: server.nonce, clientNonce: nonce, kind: .fling, clientID: client)
            var hello = ByteBuffer()
            hello.writeFrame(.clientHello(ClientHello(kind: .fling, clientID: client, nonce: nonce, proof: proof)))
            try await self.send(hello)
            return (hello, key.cipher(serverNonce: server.nonce, clientNonce: nonce, isClient: true))
        }

        /// Whether the server closes the connection within `limit` (else this end closes it then).
        mutating func waitForClose(within limit: Duration, channel: Channel) async -> Bool {
            let timedOut = NIOLockedValueBox(false)
            let timer = channel.eventLoop.scheduleTask(
                in: .nanoseconds(
                    Int64(limit.components.seconds) * 1_000_000_000 + limit.components.attoseconds / 1_000_000_000)
            ) {
                timedOut.withLockedValue { $0 = true }
                channel.close(promise: nil)
            }
            do {
                while try await self.iterator.next() != nil {}
            } catch {}
            timer.cancel()
            return !timedOut.withLockedValue { $0 }
        }
    }
}
