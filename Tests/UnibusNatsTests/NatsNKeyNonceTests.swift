import Testing
import UnibusNats
import UnibusTestSupport

/// nats.c < 3.10 (Debian ships 3.4.1) silently drops an nkey signature whose first byte is 0x00
/// from CONNECT, and the server then refuses the client with "Authorization Violation" (measured:
/// nats-server logs `Signature missing`; about 1 connect in 256 fails). NatsConnection refuses
/// such a nonce and reconnects for a fresh one.
@Suite struct NatsNKeyNonceTests {
    /// For the seed 0…31, ed25519 over "unibus-nonce-198" starts with 0x00 (checked with PyNaCl);
    /// the signature over "unibus-nonce-good" is below, base64url without padding, also from PyNaCl.
    static let zeroLeadingNonce = "unibus-nonce-198"
    static let goodNonce = "unibus-nonce-good"
    static let goodSignature = "4zl7aXucC6Bs2QbmQMU6yvZq0HVcTawUX0TitYhrDPgx7gOn1zw2sTHxan0CMnzU5mtuKlNNYaBmFtAArNGxAw"

    @Test func nonceWhoseSignatureStartsWithZeroIsRetriedWithAFreshNonce() async throws {
        let server = try ScriptedNatsServer(nonces: [Self.zeroLeadingNonce, Self.goodNonce])
        defer { server.stop() }
        let user = try TestNKey(seed: Array(0..<32))
        var options = NatsConnectOptions(servers: [server.url])
        options.nkey = user.credentials
        options.allowReconnect = false

        let connection = try await NatsConnection.connect(options)
        await connection.close()

        try #require(await eventually { server.connects.count == 2 }, "two connections recorded")
        #expect(server.connects[0] == nil, "no CONNECT may carry the dropped signature")
        let connect = try #require(server.connects[1])
        #expect(connect.contains("\"nkey\":\"\(user.publicKey)\""))
        #expect(connect.contains("\"sig\":\"\(Self.goodSignature)\""))
    }
}
