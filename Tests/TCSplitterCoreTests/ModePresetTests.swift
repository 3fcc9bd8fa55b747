import TCSplitterCore
import Testing

/// `--mode` presets and how explicit flags override them.
@Suite struct ModePresetTests {
    @Test("the presets are stealth, bulk, lossy, interactive and live")
    func names() {
        #expect(ModePreset.allCases.map(\.rawValue) == ["stealth", "bulk", "lossy", "interactive", "live"])
    }

    @Test("a flag on the command line, in either spelling, overrides the preset's value")
    func explicitFlagsWin() {
        let all = ModePreset.bulk.flags.map(\.flag)
        let kept = ModePreset.bulk.flags(notSetIn: ["tcsplitter", "client", "--tick", "5", "--window=1MiB", "--ticks"])
        #expect(kept.map(\.flag) == all.filter { $0 != "--tick" && $0 != "--window" })
        #expect(ModePreset.bulk.flags(notSetIn: []).count == all.count)
    }

    @Test("stealth is the original's one payload per connection at the original clocks")
    func stealth() {
        let flags = Dictionary(uniqueKeysWithValues: ModePreset.stealth.flags.map { ($0.flag, $0.value) })
        #expect(flags["--budget"] == "1" && flags["--tick"] == "50" && flags["--tock"] == "250")
    }

    @Test("live's FEC has enough connections for one shard per connection", arguments: ModePreset.allCases)
    func fecFitsConnections(preset: ModePreset) {
        let flags = Dictionary(uniqueKeysWithValues: preset.flags.map { ($0.flag, $0.value) })
        guard let fec = flags["--fec"] else { return }
        let shards = fec.split(separator: ":").compactMap { Int($0) }.reduce(0, +)
        #expect(Int(flags["--conns"] ?? "4")! >= 2 * shards, "\(preset): \(fec)")
    }

    @Test("every preset names each flag once and has a summary")
    func wellFormed() {
        for preset in ModePreset.allCases {
            #expect(Set(preset.flags.map(\.flag)).count == preset.flags.count)
            #expect(preset.summary.hasPrefix(preset.rawValue + ": --"))
        }
    }
}
