import Foundation
import Synchronization

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// One running `tcsplitter` process: its standard output and error collected, its readiness
/// line awaited, and its end (SIGTERM, then SIGKILL) bounded in time. Signals go to its PID only,
/// and only while it has not been reaped.
final class SplitterProcess: Sendable {
    /// How a process ended.
    enum Termination: Equatable, Sendable, CustomStringConvertible {
        /// It exited with this status.
        case exited(Int32)
        /// A signal ended it.
        case signalled(Int32)

        var description: String {
            switch self {
            case .exited(let status): "exit status \(status)"
            case .signalled(let signal): "signal \(signal)"
            }
        }
    }

    /// A short name for messages (`server`, `client`, ...).
    let name: String
    /// The arguments it was started with (after the binary).
    let arguments: [String]
    /// Its process id.
    let pid: Int32
    /// Its standard output.
    let standardOutput = OutputCollector()
    /// Its standard error (the logs).
    let standardError = OutputCollector()

    private let process: Process
    private let exitMonitor = ExitMonitor()

    /// Starts the test binary with `arguments`; with a `launcher` (e.g. `ip netns exec NS`), runs
    /// it through that command, which must exec it (so the PID is the binary's).
    init(name: String, arguments: [String], launcher: [String] = []) throws {
        let process = Process()
        if let command = launcher.first {
            process.executableURL = URL(fileURLWithPath: command)
            process.arguments = Array(launcher.dropFirst()) + [try SplitterBinary.url().path] + arguments
        } else {
            process.executableURL = try SplitterBinary.url()
            process.arguments = arguments
        }
        process.standardInput = FileHandle.nullDevice
        let output = Pipe()
        let error = Pipe()
        process.standardOutput = output
        process.standardError = error
        self.name = name
        self.arguments = arguments
        self.process = process
        process.terminationHandler = { [exitMonitor] process in
            exitMonitor.ended(
                process.terminationReason == .exit
                    ? .exited(process.terminationStatus) : .signalled(process.terminationStatus)
            )
        }
        try process.run()
        self.pid = process.processIdentifier
        self.standardOutput.startReading(output.fileHandleForReading)
        self.standardError.startReading(error.fileHandleForReading)
    }

    deinit {
        // A last resort: the scope normally stops every process before it is released.
        if self.ended == nil { kill(self.pid, SIGKILL) }
    }

    /// How it ended, if it has.
    var ended: Termination? { self.exitMonitor.termination }

    /// The fields of its `tcsplitter ready key=value ...` line, awaited.
    func ready(timeout: Duration = .seconds(20)) async throws -> [String: String] {
        let line: String
        do {
            line = try await self.standardOutput.line(containing: "tcsplitter ready", timeout: timeout)
        } catch {
            throw HarnessError("\(self.name) printed no ready line (\(error)); \(self.diagnostics)")
        }
        var fields: [String: String] = [:]
        for word in line.split(separator: " ") {
            let pair = word.split(separator: "=", maxSplits: 1)
            if pair.count == 2 { fields[String(pair[0])] = String(pair[1]) }
        }
        return fields
    }

    /// The port of a `host:port` field of the ready line.
    static func port(_ field: String, in fields: [String: String]) throws -> Int {
        guard let value = fields[field], let colon = value.lastIndex(of: ":"),
            let port = Int(value[value.index(after: colon)...])
        else {
            throw HarnessError("the ready line has no port in \(field): \(fields)")
        }
        return port
    }

    /// The first log line containing `needle`, awaited.
    func logLine(containing needle: String, timeout: Duration) async throws -> String {
        do {
            return try await self.standardError.line(containing: needle, timeout: timeout)
        } catch {
            throw HarnessError("\(self.name) logged no line containing \"\(needle)\" (\(error)); \(self.diagnostics)")
        }
    }

    /// Waits until `count` log lines contain `needle`.
    func logLines(containing needle: String, count: Int, timeout: Duration) async throws {
        do {
            try await self.standardError.lines(containing: needle, count: count, timeout: timeout)
        } catch {
            throw HarnessError(
                "\(self.name) logged \(self.standardError.count(of: needle)) of \(count) lines containing \"\(needle)\" (\(error)); \(self.diagnostics)"
            )
        }
    }

    /// Sends `signal` to its PID, unless it has already been reaped.
    func send(signal: Int32) {
        if self.ended == nil { kill(self.pid, signal) }
    }

    /// Waits up to `timeout` for the process to end; `nil` if it is still running.
    @discardableResult
    func waitForExit(timeout: Duration) async -> Termination? {
        await self.exitMonitor.wait(timeout: timeout)
    }

    /// Sends SIGTERM and waits up to `grace` for a clean end; then SIGKILL. Returns how it ended.
    /// The default outlasts tcsplitter's default `--grace-period` (10 s), for which a session still
    /// open at SIGTERM is let finish before the end exits 0.
    @discardableResult
    func stop(grace: Duration = .seconds(15)) async -> Termination? {
        if let ended = self.ended { return ended }
        kill(self.pid, SIGTERM)
        if let ended = await self.waitForExit(timeout: grace) { return ended }
        if self.ended == nil { kill(self.pid, SIGKILL) }
        return await self.waitForExit(timeout: .seconds(5))
    }

    /// Peak resident memory (`VmHWM` of /proc/PID/status) in bytes, while it runs.
    func peakResidentBytes() throws -> Int {
        let status = try String(contentsOfFile: "/proc/\(self.pid)/status", encoding: .utf8)
        guard let line = status.split(separator: "\n").first(where: { $0.hasPrefix("VmHWM:") }),
            let kibibytes = line.split(whereSeparator: { $0 == " " || $0 == "\t" }).dropFirst().first.flatMap({
                Int($0)
            })
        else {
            throw HarnessError("no VmHWM in /proc/\(self.pid)/status")
        }
        return kibibytes * 1024
    }

    /// Its command line and the tail of its logs, for failure messages.
    var diagnostics: String {
        """
        --- \(self.name) (pid \(self.pid)): tcsplitter \(self.arguments.joined(separator: " "))
        \(self.standardError.tail())
        --- end of \(self.name)
        """
    }
}

/// Records how a process ended, and wakes whoever awaits it.
private final class ExitMonitor: Sendable {
    private struct State {
        var termination: SplitterProcess.Termination?
        var waiters: [Int: CheckedContinuation<SplitterProcess.Termination?, Never>] = [:]
        var nextWaiterID = 0
    }

    private let state = Mutex(State())

    /// How the process ended, if it has.
    var termination: SplitterProcess.Termination? { self.state.withLock { $0.termination } }

    /// The process ended (called from Foundation's termination handler).
    func ended(_ termination: SplitterProcess.Termination) {
        let waiters = self.state.withLock { state in
            state.termination = termination
            defer { state.waiters.removeAll() }
            return Array(state.waiters.values)
        }
        for waiter in waiters { waiter.resume(returning: termination) }
    }

    /// How the process ended, awaited up to `timeout`; `nil` if it is still running.
    func wait(timeout: Duration) async -> SplitterProcess.Termination? {
        await withCheckedContinuation { (continuation: CheckedContinuation<SplitterProcess.Termination?, Never>) in
            let ended: SplitterProcess.Termination?? = self.state.withLock { state in
                if let termination = state.termination { return .some(termination) }
                let id = state.nextWaiterID
                state.nextWaiterID += 1
                state.waiters[id] = continuation
                Task { [self] in
                    try? await Task.sleep(for: timeout)
                    self.state.withLock { $0.waiters.removeValue(forKey: id) }?.resume(returning: nil)
                }
                return .none
            }
            if let ended { continuation.resume(returning: ended) }
        }
    }
}
