/// `GET /metrics` from a running end, and a strict reading of the Prometheus text format: every
/// line is a `# TYPE`/`# HELP` comment or a sample `name{label="value",...} number`, and every
/// sample's metric has a `# TYPE` line before it. Anything else is an error naming the line.
enum MetricsScrape {
    /// The samples of one scrape of `127.0.0.1:port`, keyed by `name{labels}` as written.
    static func fetch(port: Int) async throws -> [String: Double] {
        let request = "GET /metrics HTTP/1.1\r\nHost: 127.0.0.1:\(port)\r\nConnection: close\r\n\r\n"
        let exchange = try await PlainSocket.exchange(
            port: port, request: Array(request.utf8), shutWriteSide: false, timeout: .seconds(10)
        )
        let response = String(decoding: exchange.reply, as: UTF8.self)
        guard exchange.ending == .endOfFile, let split = response.range(of: "\r\n\r\n") else {
            throw HarnessError("no complete HTTP response (\(exchange.ending)): \(response.prefix(300))")
        }
        let head = response[..<split.lowerBound]
        guard head.hasPrefix("HTTP/1.1 200 ") else { throw HarnessError("not 200 OK: \(head)") }
        guard head.lowercased().contains("content-type: text/plain; version=0.0.4") else {
            throw HarnessError("not the Prometheus text content type: \(head)")
        }
        return try self.parse(String(response[split.upperBound...]))
    }

    /// The samples of a Prometheus text exposition.
    static func parse(_ text: String) throws -> [String: Double] {
        var typed: Set<String> = []
        var samples: [String: Double] = [:]
        for line in text.split(separator: "\n") {
            if line.hasPrefix("#") {
                let words = line.split(separator: " ")
                guard words.count >= 3, words[1] == "TYPE" || words[1] == "HELP", self.isName(words[2]) else {
                    throw HarnessError("bad comment line: \(line)")
                }
                if words[1] == "TYPE" {
                    guard words.count == 4, ["counter", "gauge", "histogram", "summary", "untyped"].contains(words[3])
                    else {
                        throw HarnessError("bad TYPE line: \(line)")
                    }
                    typed.insert(String(words[2]))
                }
                continue
            }
            guard let space = line.lastIndex(of: " "), let value = Double(line[line.index(after: space)...]) else {
                throw HarnessError("sample without a number: \(line)")
            }
            let series = line[..<space]
            let name = series.prefix { $0 != "{" }
            guard self.isName(name) else { throw HarnessError("bad metric name: \(line)") }
            if name.count < series.count {
                guard series.hasSuffix("}"), self.areLabels(series.dropFirst(name.count + 1).dropLast()) else {
                    throw HarnessError("bad labels: \(line)")
                }
            }
            guard typed.contains(String(name)) else { throw HarnessError("sample before its # TYPE line: \(line)") }
            samples[String(series)] = value
        }
        return samples
    }

    private static func isName(_ text: Substring) -> Bool {
        guard let first = text.first, first.isLetter || first == "_" || first == ":" else { return false }
        return text.allSatisfy { ($0.isASCII && ($0.isLetter || $0.isNumber)) || $0 == "_" || $0 == ":" }
    }

    /// `key="value",key="value"` (values without quotes or backslashes, as ours are).
    private static func areLabels(_ text: Substring) -> Bool {
        text.split(separator: ",").allSatisfy { pair in
            let parts = pair.split(separator: "=", maxSplits: 1)
            return parts.count == 2 && self.isName(parts[0]) && parts[1].count >= 2 && parts[1].hasPrefix("\"")
                && parts[1].hasSuffix("\"") && !parts[1].dropFirst().dropLast().contains("\"")
        }
    }
}
