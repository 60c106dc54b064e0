/// Credentials for nats-server's nkey authentication: the user's public nkey and its seed.
///
/// nats.c calls back into this module to sign the server's nonce with the seed (ed25519 via
/// swift-crypto), on connect and on every reconnect; the seed never reaches nats.c.
public struct NatsNKeyCredentials: Sendable, CustomStringConvertible {
    /// The user's public nkey, `U` followed by 55 base32 characters, as listed in the server config.
    public var publicKey: String
    /// The seed that belongs to ``publicKey``.
    public var seed: NatsNKeySeed

    /// - Parameters:
    ///   - publicKey: The public nkey (`U…`) the server knows the user by.
    ///   - seed: The 32-byte seed of that key.
    public init(publicKey: String, seed: NatsNKeySeed) {
        self.publicKey = publicKey
        self.seed = seed
    }

    /// The public key and a placeholder for the seed.
    public var description: String { "nkey \(publicKey) (\(seed))" }
}
