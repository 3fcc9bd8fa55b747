import Foundation
import Synchronization

/// Collects what a child process writes to one pipe, and lets a test await a line containing
/// some text: an awaited event with a time limit, never a fixed sleep.
///
/// A dedicated thread reads the pipe (blocking reads, so the Swift concurrency pool is never
/// blocked); waiters are resumed as soon as a complete line matches, when the pipe ends without
/// a match, or when their time limit passes.
final class OutputCollector: Sendable {
    /// Why a wait ended without a matching line.
    enum WaitFailure: Error, Equatable {
        /// The time limit passed.
        case timedOut
        /// The pipe ended (the process closed it or exited) without a matching line.
        case endOfOutput
    }

    private struct Waiter {
        var match: @Sendable (String) -> String?
        var continuation: CheckedContinuation<String, Error>
        var timeout: Task<Void, Never>?
    }

    private struct State {
        var text = ""
        var ended = false
        var waiters: [Int: Waiter] = [:]
        var nextWaiterID = 0
    }

    private let state = Mutex(State())

    /// Everything collected so far.
    var text: String { self.state.withLock { $0.text } }

    /// The last `count` lines collected, for failure messages.
    func tail(lines count: Int = 40) -> String {
        self.text.split(separator: "\n", omittingEmptySubsequences: false).suffix(count).joined(separator: "\n")
    }

    /// Reads `handle` on a new thread until end of file.
    func startReading(_ handle: FileHandle) {
        let thread = Thread { [self] in
            while true {
                let data = handle.availableData
                if data.isEmpty { break }
                self.append(data)
            }
            self.finish()
        }
        thread.name = "tcsplitter-test-pipe-reader"
        thread.start()
    }

    /// The first complete line containing `needle`, as soon as it is collected.
    func line(containing needle: String, timeout: Duration) async throws -> String {
        try await self.wait(timeout: timeout) { Self.completeLine(containing: needle, in: $0) }
    }

    /// A complete line containing one of `needles` (the first needle, in order, that has one), as
    /// soon as one is collected.
    func line(containingAnyOf needles: [String], timeout: Duration) async throws -> String {
        try await self.wait(timeout: timeout) { text in
            needles.lazy.compactMap { Self.completeLine(containing: $0, in: text) }.first
        }
    }

    /// How many complete lines contain `needle`.
    func count(of needle: String) -> Int {
        Self.completeLines(of: self.text).filter { $0.contains(needle) }.count
    }

    /// Waits until at least `count` complete lines contain `needle`.
    func lines(containing needle: String, count: Int, timeout: Duration) async throws {
        _ = try await self.wait(timeout: timeout) { text in
            Self.completeLines(of: text).filter { $0.contains(needle) }.count >= count ? needle : nil
        }
    }

    /// Waits until `match` finds something in the collected text (checked on every new chunk).
    private func wait(timeout: Duration, until match: @escaping @Sendable (String) -> String?) async throws -> String {
        try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<String, Error>) in
            let immediate: Result<String, Error>? = self.state.withLock { state in
                if let found = match(state.text) { return .success(found) }
                if state.ended { return .failure(WaitFailure.endOfOutput) }
                let id = state.nextWaiterID
                state.nextWaiterID += 1
                state.waiters[id] = Waiter(
                    match: match,
                    continuation: continuation,
                    timeout: Task { [self] in
                        try? await Task.sleep(for: timeout)
                        self.expire(waiter: id)
                    }
                )
                return nil
            }
            if let immediate { continuation.resume(with: immediate) }
        }
    }

    private func append(_ data: Data) {
        let chunk = String(decoding: data, as: UTF8.self)
        let matched: [(Waiter, String)] = self.state.withLock { state in
            state.text += chunk
            var matched: [(Waiter, String)] = []
            for (id, waiter) in state.waiters {
                if let line = waiter.match(state.text) {
                    state.waiters.removeValue(forKey: id)
                    matched.append((waiter, line))
                }
            }
            return matched
        }
        for (waiter, line) in matched {
            waiter.timeout?.cancel()
            waiter.continuation.resume(returning: line)
        }
    }

    private func finish() {
        let waiters: [Waiter] = self.state.withLock { state in
            state.ended = true
            defer { state.waiters.removeAll() }
            return Array(state.waiters.values)
        }
        for waiter in waiters {
            waiter.timeout?.cancel()
            waiter.continuation.resume(throwing: WaitFailure.endOfOutput)
        }
    }

    private func expire(waiter id: Int) {
        let waiter = self.state.withLock { $0.waiters.removeValue(forKey: id) }
        waiter?.continuation.resume(throwing: WaitFailure.timedOut)
    }

    /// The newline-terminated lines of `text` (a partial last line is left out).
    private static func completeLines(of text: String) -> [Substring] {
        guard let end = text.lastIndex(of: "\n") else { return [] }
        return text[..<end].split(separator: "\n")
    }

    /// The first newline-terminated line of `text` containing `needle`, without the newline.
    private static func completeLine(containing needle: String, in text: String) -> String? {
        guard let range = text.range(of: needle) else { return nil }
        guard let end = text[range.upperBound...].firstIndex(of: "\n") else { return nil }
        let start = text[..<range.lowerBound].lastIndex(of: "\n").map { text.index(after: $0) } ?? text.startIndex
        return String(text[start..<end])
    }
}
