import Foundation
import TCSplitterCore
import TCSplitterNIO

/// Where the pre-shared key comes from: `--key`, `--key-file`, or the `TCSPLITTER_KEY`
/// environment variable (so it need not appear in `ps`). Never logged.
enum KeySource {
    /// The environment variable read when neither flag is given.
    static let environmentVariable = "TCSPLITTER_KEY"

    /// The key and a description of its source (never the key itself), or `(nil, nil)`.
    static func load(flag: String?, file: String?) throws -> (PreSharedKey?, String?) {
        if flag != nil && file != nil {
            throw ConfigurationError(flag: "--key-file", "give --key or --key-file, not both")
        }
        if let flag {
            return (try PreSharedKey(secret: flag), "--key")
        }
        if let file {
            guard let text = try? String(contentsOfFile: file, encoding: .utf8) else {
                throw ConfigurationError(flag: "--key-file", "cannot read \(file)")
            }
            let line = text.split(separator: "\n", omittingEmptySubsequences: true).first.map(String.init) ?? ""
            let secret = line.trimmingCharacters(in: .whitespacesAndNewlines)
            do {
                return (try PreSharedKey(secret: secret), "--key-file \(file)")
            } catch {
                throw ConfigurationError(flag: "--key-file", error.message)
            }
        }
        if let secret = ProcessInfo.processInfo.environment[Self.environmentVariable], !secret.isEmpty {
            do {
                return (try PreSharedKey(secret: secret), Self.environmentVariable)
            } catch {
                throw ConfigurationError(flag: Self.environmentVariable, error.message)
            }
        }
        return (nil, nil)
    }
}
