import Testing
@Suite struct FECPlaceholderTests { @Test("placeholder") func placeholder() { #expect(1 + 1 == 2) } }
