import TCSplitterCore
import Testing

/// Which connections carry which direction in each `--dup` mode.
@Suite struct DupModeTests {
    @Test("fling: one pool, both directions on it")
    func fling() {
        #expect(!DupMode.fling.usesLassoes)
        #expect(DupMode.fling.serverSends(on: .fling))
        #expect(DupMode.fling.clientSends(on: .fling))
        #expect(DupMode.fling.downstreamRank(of: .fling) == 0)
    }

    @Test("lasso: downstream prefers lasso connections, fling connections are its fallback")
    func lasso() {
        #expect(DupMode.lasso.usesLassoes)
        #expect(DupMode.lasso.serverSends(on: .lasso))
        #expect(DupMode.lasso.serverSends(on: .fling))
        #expect(DupMode.lasso.downstreamRank(of: .lasso) < DupMode.lasso.downstreamRank(of: .fling))
        #expect(!DupMode.lasso.clientSends(on: .lasso))
    }

    @Test("both: downstream on either pool, on equal footing")
    func both() {
        #expect(DupMode.both.serverSends(on: .lasso))
        #expect(DupMode.both.serverSends(on: .fling))
        #expect(DupMode.both.downstreamRank(of: .lasso) == DupMode.both.downstreamRank(of: .fling))
    }

    @Test("none: every connection carries one direction only")
    func simplex() {
        #expect(DupMode.none.usesLassoes)
        #expect(DupMode.none.clientSends(on: .fling))
        #expect(!DupMode.none.serverSends(on: .fling))
        #expect(!DupMode.none.clientSends(on: .lasso))
        #expect(DupMode.none.serverSends(on: .lasso))
    }

    @Test("no mode sends payloads on the sync connection", arguments: DupMode.allCases)
    func syncCarriesNoPayloads(mode: DupMode) {
        #expect(!mode.serverSends(on: .sync))
        #expect(!mode.clientSends(on: .sync))
        #expect(DupMode(wireValue: mode.wireValue) == mode)
    }
}
