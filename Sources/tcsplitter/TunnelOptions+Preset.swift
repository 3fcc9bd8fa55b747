import ArgumentParser
import TCSplitterCore

extension TunnelOptions {
    /// These options with `--mode`'s values filled in where `arguments` (the command line) set no
    /// value of their own. The preset's values are read by the same parsers as the command line's.
    func withPreset(arguments: [String]) throws(ConfigurationError) -> TunnelOptions {
        guard let preset = self.tuning.mode else { return self }
        let flags = preset.flags(notSetIn: arguments)
        let values: TunnelOptions
        do {
            values = try RunCommand.parse(flags.flatMap { [$0.flag, $0.value] }).options
        } catch {
            throw ConfigurationError(flag: "--mode", "\(preset.rawValue): \(RunCommand.message(for: error))")
        }
        var options = self
        for (flag, _) in flags {
            switch flag {
            case "--budget": options.tuning.budget = values.tuning.budget
            case "--tick": options.tuning.tick = values.tuning.tick
            case "--tock": options.tuning.tock = values.tuning.tock
            case "--buffer": options.tuning.buffer = values.tuning.buffer
            case "--frags": options.tuning.frags = values.tuning.frags
            case "--window": options.tuning.window = values.tuning.window
            case "--conns": options.client.conns = values.client.conns
            case "--congestion": options.tuning.congestion = values.tuning.congestion
            case "--dup": options.client.dup = values.client.dup
            case "--fec": options.reliability.fec = values.reliability.fec
            case "--clocks": options.tuning.clocks = values.tuning.clocks
            default: throw ConfigurationError(flag: "--mode", "\(preset.rawValue) sets \(flag), which it may not")
            }
        }
        return options
    }
}
