/// What a `tcsplitter chaos-proxy` relayed, from the report it prints when stopped:
/// "chaos-proxy: N connections, K killed, S stalled, U bytes to the target, D bytes back".
struct RelayReport: CustomStringConvertible {
    /// Connections accepted.
    var connections: Int
    /// Bytes relayed toward the target.
    var toServer: Int
    /// Bytes relayed back from the target.
    var back: Int

    var description: String { "\(self.connections) connections, \(self.toServer) bytes up, \(self.back) bytes down" }

    /// Stops `relay` (SIGTERM) and reads its report.
    static func stop(_ relay: SplitterProcess) async throws -> RelayReport {
        _ = await relay.stop()
        let line = try await relay.logLine(containing: "bytes back", timeout: .seconds(5))
        let numbers = line.split(whereSeparator: { !$0.isNumber }).compactMap { Int($0) }
        guard numbers.count >= 5 else { throw HarnessError("unexpected relay report: \(line)") }
        return RelayReport(connections: numbers[0], toServer: numbers[3], back: numbers[4])
    }
}
