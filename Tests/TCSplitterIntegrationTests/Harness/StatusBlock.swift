import Foundation

/// A status block an end printed on standard error (see `StatusReport` in TCSplitterCore).
struct StatusBlock {
    /// Each line's text after its label (`sessions`, `connections`, `sent`, ...); `heading` is the
    /// first line.
    var lines: [String: String]

    /// The number of stream bytes on the `sent` or `received` line.
    func bytes(_ label: String) throws -> Int {
        guard let line = self.lines[label], let number = line.split(separator: " ").first.flatMap({ Int($0) }) else {
            throw HarnessError("no byte count on the \(label) line: \(self.lines)")
        }
        return number
    }

    /// The number of payloads on the `sent` or `received` line ("... in N payloads, ...").
    func payloads(_ label: String) throws -> Int {
        guard let line = self.lines[label], let tail = line.components(separatedBy: " in ").last,
            let number = tail.split(separator: " ").first.flatMap({ Int($0) })
        else {
            throw HarnessError("no payload count on the \(label) line: \(self.lines)")
        }
        return number
    }

    /// Connections of `kind` opened, from the `connections` line ("fling 4 open, 12 opened ...").
    func connectionsOpened(_ kind: String) throws -> Int {
        guard let line = self.lines["connections"],
            let part = line.components(separatedBy: "; ").first(where: { $0.hasPrefix(kind + " ") }),
            let opened = part.components(separatedBy: ", ").dropFirst().first?.split(separator: " ").first.flatMap({
                Int($0)
            })
        else {
            throw HarnessError("no \(kind) connection count on the connections line: \(self.lines)")
        }
        return opened
    }

    /// The first number on the `recovery` line: payloads resent.
    func resentPayloads() throws -> Int {
        guard let number = self.lines["recovery"]?.split(separator: " ").first.flatMap({ Int($0) }) else {
            throw HarnessError("no resent count on the recovery line: \(self.lines)")
        }
        return number
    }

    /// Sends SIGUSR1 to `process` and returns the block it prints, its `number`th (from 1).
    static func request(from process: SplitterProcess, number: Int) async throws -> StatusBlock {
        process.send(signal: SIGUSR1)
        // The block is one write; its last line closes it.
        try await process.logLines(containing: "tcsplitter status:", count: number, timeout: .seconds(10))
        try await process.logLines(containing: "  buffered ", count: number, timeout: .seconds(10))
        let text = process.standardError.text
        let blocks = text.components(separatedBy: "tcsplitter status:").dropFirst()
        guard blocks.count >= number else { throw HarnessError("only \(blocks.count) status blocks") }
        var lines: [String: String] = [:]
        for (index, line) in blocks[blocks.startIndex + number - 1].split(separator: "\n").enumerated() {
            if index == 0 {
                lines["heading"] = line.trimmingCharacters(in: .whitespaces)
            } else if line.hasPrefix("  ") {
                let words = line.dropFirst(2).split(separator: " ", maxSplits: 1)
                lines[String(words[0])] = words.count > 1 ? words[1].trimmingCharacters(in: .whitespaces) : ""
                if words[0] == "buffered" { break }
            }
        }
        return StatusBlock(lines: lines)
    }
}
