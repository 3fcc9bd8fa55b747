import ArgumentParser
import Logging
import TCSplitterCore

/// `--log-level`: swift-log's levels, by name in any case.
enum LogLevel: String, Hashable, Sendable, CaseIterable, ExpressibleByArgument {
    /// Everything, for following one session.
    case trace
    /// Decisions, for finding out why.
    case debug
    /// What an operator wants to see (the default).
    case info
    /// Unusual but expected events.
    case notice
    /// Something is wrong but the end goes on.
    case warning
    /// An operation failed.
    case error
    /// The end cannot go on.
    case critical

    /// The level named by `argument`, in any case.
    init?(argument: String) {
        self.init(rawValue: argument.trimmingSpaces().lowercased())
    }

    /// The level as swift-log states it.
    var loggerLevel: Logger.Level {
        switch self {
        case .trace: return .trace
        case .debug: return .debug
        case .info: return .info
        case .notice: return .notice
        case .warning: return .warning
        case .error: return .error
        case .critical: return .critical
        }
    }
}
