import Foundation
import Testing
import UnibusCore

@Suite("RFC 9421 signature base and RFC 9530 digest")
struct SignatureBaseTests {
    /// RFC 9421 Appendix B.1.4 test-key-ed25519.
    static let rfcSeed = Hex.decode("9f8362f87a484a954e6e740c5b4c0e84229139a20aa8ab56ff66586f6a7d29c5")!
    static let rfcPublic = "26b40b8f93fff3d897112f7ebc582b232dbd72517d082fe83cfb30ddce43d1bb"

    static let b26Request = SignedRequest(
        method: "POST", scheme: "https", authority: "example.com", path: "/foo", query: "param=Value&Pet=dog",
        headers: [
            ("Host", "example.com"), ("Date", "Tue, 20 Apr 2021 02:07:55 GMT"), ("Content-Type", "application/json"),
            ("Content-Digest", "sha-512=:WZDPaVn/7XgHaAy8pmojAkGWoRx2UFChF41A2svX+TaPm+AbwAgBWnrIiYllu7BNNyealdVLvRwEmTHWXvJwew==:"),
            ("Content-Length", "18"),
        ])
    static let b26Input = SignatureInput(
        components: ["date", "@method", "@path", "@authority", "content-type", "content-length"],
        parameters: [("created", .integer(1_618_884_473)), ("keyid", .string("test-key-ed25519"))])

    @Test("RFC 9421 B.2.6: the base and the ed25519 signature are reproduced exactly")
    func rfcAppendixB26() throws {
        let base = try SignatureBase.build(Self.b26Request, Self.b26Input)
        #expect(
            base == """
                "date": Tue, 20 Apr 2021 02:07:55 GMT
                "@method": POST
                "@path": /foo
                "@authority": example.com
                "content-type": application/json
                "content-length": 18
                "@signature-params": ("date" "@method" "@path" "@authority" "content-type" "content-length");created=1618884473;keyid="test-key-ed25519"
                """)
        let pair = try UserKeyPair(seed: Self.rfcSeed)
        #expect(pair.signPub.hex == Self.rfcPublic)
        #expect(
            Data(pair.sign(Array(base.utf8))).base64EncodedString()
                == "wqcAqbmYJ2ji2glfAMaRy4gruYYnx2nEFN2HN6jrnDnQCK1u02Gb04v9EDgwUPiu4A0w6vuQv5lIp5WPpBKRCw==")
    }

    @Test("RFC 9530 digests")
    func contentDigest() {
        #expect(ContentDigest.header(for: Data("{\"hello\": \"world\"}".utf8)) == "sha-256=:X48E9qOokqqrvdts8nOJRJN3OWDUoyWxBf7kbu9DBPE=:")
        #expect(ContentDigest.header(for: Data()) == "sha-256=:47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=:")
    }

    @Test func targetURIIncludesTheQuery() {
        #expect(Self.b26Request.targetURI == "https://example.com/foo?param=Value&Pet=dog")
    }

    @Test func componentsMustBePresentAndUnique() {
        var input = Self.b26Input
        input.components.append("x-missing")
        #expect(throws: SignatureError.missingComponent("x-missing")) { try SignatureBase.build(Self.b26Request, input) }
        input.components = ["@method", "@method"]
        #expect(throws: SignatureError.duplicateComponent("@method")) { try SignatureBase.build(Self.b26Request, input) }
        input.components = ["@status"]
        #expect(throws: SignatureError.unsupportedComponent("@status")) { try SignatureBase.build(Self.b26Request, input) }
    }

    @Test func stringParametersAreEscaped() {
        let input = SignatureInput(components: ["@method"], parameters: [("nonce", .string("a\"b\\c"))])
        #expect(input.serialized == #"("@method");nonce="a\"b\\c""#)
    }
}
