import NIOCore
import NIOPosix
import TCSplitterNIO
import TCSplitterTools

/// Runs `body` with an in-process UDP echo service (`UDPEchoService`) on a free port of `host`,
/// closed afterwards. `body` gets the port.
func withUDPEchoService<T>(
    group: EventLoopGroup,
    host: String = "127.0.0.1",
    _ body: (Int) async throws -> T
) async throws -> T {
    let channel = try await UDPEchoService.start(host: host, port: 0, group: group).get()
    let outcome: Result<T, Error>
    do {
        guard let port = channel.localAddress?.port else { throw HarnessError("the UDP echo service has no port") }
        outcome = .success(try await body(port))
    } catch {
        outcome = .failure(error)
    }
    try? await channel.close()
    return try outcome.get()
}

/// Runs `sessions` concurrent UDP probe sessions (each from its own source port) against
/// `host:port`, each with `plan` and its own seed, and returns their results in order.
func udpProbe(
    host: String = "127.0.0.1",
    port: Int,
    plan: UDPProbeClient.Plan,
    sessions: Int = 1,
    timeout: TimeAmount,
    group: EventLoopGroup
) async throws -> [UDPProbeClient.Result] {
    let futures = (0..<sessions).map { index in
        var sessionPlan = plan
        sessionPlan.seed = plan.seed &+ UInt64(index) &* 0x9E37_79B9
        return UDPProbeClient.run(host: host, port: port, plan: sessionPlan, timeout: timeout, group: group)
    }
    var results: [UDPProbeClient.Result] = []
    for future in futures { results.append(try await future.get()) }
    return results
}
