import Foundation

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// Network namespaces a test creates (and always removes) to stand in for separate hosts, joined
/// by veth pairs, with addresses from 198.18.0.0/15 and 2001:2::/48 (the benchmarking ranges:
/// never routed).
/// Needs root, iproute2's `ip` and `nft`; `available` says whether they are here, and
/// `unavailableReason` what is missing, for the test's skip message.
final class NetworkNamespaces {
    /// Where `ip` is.
    static let ipCommand =
        ["/usr/sbin/ip", "/sbin/ip", "/usr/bin/ip", "/bin/ip"].first {
            FileManager.default.isExecutableFile(atPath: $0)
        } ?? "/usr/sbin/ip"
    /// Where `nft` is.
    static let nftCommand =
        ["/usr/sbin/nft", "/sbin/nft", "/usr/bin/nft"].first {
            FileManager.default.isExecutableFile(atPath: $0)
        } ?? "/usr/sbin/nft"

    /// Why namespace tests cannot run here, or `nil` when they can.
    static let unavailableReason: String? = {
        guard getuid() == 0 else { return "needs root (network namespaces, veth, nftables)" }
        guard FileManager.default.isExecutableFile(atPath: ipCommand) else { return "needs iproute2's ip" }
        guard FileManager.default.isExecutableFile(atPath: nftCommand) else {
            return "needs nft (apt-get install nftables)"
        }
        let probe = "tcs-probe-\(getpid())"
        guard (try? NetworkNamespaces.run([ipCommand, "netns", "add", probe])) != nil else {
            return "cannot create network namespaces here"
        }
        _ = try? NetworkNamespaces.run([ipCommand, "netns", "del", probe])
        return nil
    }()

    /// Whether namespace tests can run.
    static var available: Bool { unavailableReason == nil }

    /// The namespaces made, in order.
    private(set) var names: [String] = []
    private let prefix: String

    /// Namespaces named `tcs-<tag><pid>-<name>` (short: interface and namespace names are limited).
    init(tag: String) {
        self.prefix = "tcs-\(tag)\(getpid() % 100_000)"
    }

    deinit {
        self.removeAll()
    }

    /// Creates a namespace with its loopback up; returns its full name.
    @discardableResult
    func add(_ name: String) throws -> String {
        let full = "\(self.prefix)-\(name)"
        _ = try? Self.run([Self.ipCommand, "netns", "del", full])  // a leftover of a killed run
        try Self.run([Self.ipCommand, "netns", "add", full])
        self.names.append(full)
        try self.exec(full, [Self.ipCommand, "link", "set", "lo", "up"])
        return full
    }

    /// Joins namespaces `a` and `b` with a veth pair `aName`/`bName`, addressed `aAddress` and
    /// `bAddress` (CIDR), both up.
    func link(
        _ a: String, _ aName: String, _ aAddress: String, to b: String, _ bName: String, _ bAddress: String
    ) throws {
        let temporary = "tv\(getpid() % 100_000)\(self.names.count)"
        try Self.run([Self.ipCommand, "link", "add", temporary + "a", "type", "veth", "peer", "name", temporary + "b"])
        try Self.run([Self.ipCommand, "link", "set", temporary + "a", "netns", a])
        try Self.run([Self.ipCommand, "link", "set", temporary + "b", "netns", b])
        try self.exec(a, [Self.ipCommand, "link", "set", temporary + "a", "name", aName])
        try self.exec(b, [Self.ipCommand, "link", "set", temporary + "b", "name", bName])
        // IPv6 addresses skip duplicate address detection, so they are usable at once.
        try self.exec(
            a, [Self.ipCommand, "addr", "add", aAddress, "dev", aName] + (aAddress.contains(":") ? ["nodad"] : []))
        try self.exec(
            b, [Self.ipCommand, "addr", "add", bAddress, "dev", bName] + (bAddress.contains(":") ? ["nodad"] : []))
        try self.exec(a, [Self.ipCommand, "link", "set", aName, "up"])
        try self.exec(b, [Self.ipCommand, "link", "set", bName, "up"])
    }

    /// Runs a command inside `namespace`; returns its standard output.
    @discardableResult
    func exec(_ namespace: String, _ command: [String]) throws -> String {
        try Self.run([Self.ipCommand, "netns", "exec", namespace] + command)
    }

    /// Loads an nftables ruleset inside `namespace`.
    func nft(_ namespace: String, _ ruleset: String) throws {
        try Self.run([Self.ipCommand, "netns", "exec", namespace, Self.nftCommand, "-f", "-"], input: ruleset)
    }

    /// Removes every namespace made (their veth ends go with them).
    func removeAll() {
        for name in self.names.reversed() { _ = try? Self.run([Self.ipCommand, "netns", "del", name]) }
        self.names.removeAll()
    }

    /// Runs a command to completion (10 s at most); throws with its output when it fails.
    @discardableResult
    static func run(_ command: [String], input: String? = nil) throws -> String {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: command[0])
        process.arguments = Array(command.dropFirst())
        let output = Pipe()
        process.standardOutput = output
        process.standardError = output
        let stdin = Pipe()
        process.standardInput = input == nil ? FileHandle.nullDevice : stdin
        let exited = DispatchSemaphore(value: 0)
        process.terminationHandler = { _ in exited.signal() }
        try process.run()
        if let input {
            stdin.fileHandleForWriting.write(Data(input.utf8))
            try? stdin.fileHandleForWriting.close()
        }
        let text = String(decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        guard exited.wait(timeout: .now() + 10) == .success else {
            kill(process.processIdentifier, SIGKILL)
            throw HarnessError("\(command.joined(separator: " ")) did not finish within 10 s")
        }
        guard process.terminationStatus == 0 else {
            throw HarnessError("\(command.joined(separator: " ")) failed (\(process.terminationStatus)): \(text)")
        }
        return text
    }
}
