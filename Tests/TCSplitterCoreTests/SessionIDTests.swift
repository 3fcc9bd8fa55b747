import TCSplitterCore
import Testing

/// Session ids: random, never zero, printed as sixteen hex digits.
@Suite struct SessionIDTests {
    /// Yields the given values in turn.
    struct ScriptedGenerator: RandomNumberGenerator {
        var values: [UInt64]
        mutating func next() -> UInt64 { self.values.removeFirst() }
    }

    @Test("a zero draw is skipped: zero is never a session id")
    func neverZero() {
        var generator = ScriptedGenerator(values: [0, 0, 42])
        #expect(SessionID.random(using: &generator) == SessionID(rawValue: 42))
        #expect(generator.values.isEmpty)
    }

    @Test("system-random ids differ and are not zero")
    func systemRandom() {
        let ids = Set((0..<32).map { _ in SessionID.random() })
        #expect(ids.count == 32)
        #expect(!ids.contains(SessionID(rawValue: 0)))
    }

    @Test("ids print as sixteen zero-padded hex digits")
    func description() {
        #expect(SessionID(rawValue: 0x1F).description == "000000000000001f")
        #expect(SessionID(rawValue: .max).description == "ffffffffffffffff")
        #expect(SessionID(rawValue: 0x0123_4567_89AB_CDEF).description == "0123456789abcdef")
    }
}
