import TCSplitterCore
import Testing

/// The test generator itself: a wrong generator would make every randomized test meaningless.
@Suite struct SplitMix64Tests {
    @Test("seed 0 gives the published first outputs of SplitMix64")
    func knownVector() {
        var generator = SplitMix64(seed: 0)
        #expect(generator.next() == 0xE220_A839_7B1D_CDAF)
        #expect(generator.next() == 0x6E78_9E6A_A1B9_65F4)
        #expect(generator.next() == 0x06C4_5D18_8009_454F)
    }

    @Test("the same seed repeats and different seeds differ")
    func repeatable() {
        var a = SplitMix64(seed: 42)
        var b = SplitMix64(seed: 42)
        var c = SplitMix64(seed: 43)
        let first = (0..<8).map { _ in a.next() }
        #expect(first == (0..<8).map { _ in b.next() })
        #expect(first != (0..<8).map { _ in c.next() })
    }
}
