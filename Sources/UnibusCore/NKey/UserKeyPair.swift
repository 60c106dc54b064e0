public import Crypto

/// A user's ed25519 key pair, made from the 32-byte seed that is also their NATS nkey seed.
/// Its description never shows the seed.
public struct UserKeyPair: Sendable, CustomStringConvertible {
    public let privateKey: Curve25519.Signing.PrivateKey

    /// - Throws: `NKeyError.invalidLength` unless the seed has 32 bytes.
    public init(seed: [UInt8]) throws(NKeyError) {
        guard seed.count == 32, let key = try? Curve25519.Signing.PrivateKey(rawRepresentation: seed)
        else { throw .invalidLength(seed.count) }
        privateKey = key
    }

    /// A new random key pair.
    public init() { privateKey = Curve25519.Signing.PrivateKey() }

    /// The 32-byte seed. Handle as a secret.
    public var seed: [UInt8] { Array(privateKey.rawRepresentation) }
    /// The user's sign-pub.
    public var signPub: SignPub { try! SignPub(bytes: Array(privateKey.publicKey.rawRepresentation)) }
    /// The public nkey (`U…`).
    public var nkey: String { signPub.nkey }
    /// The nkey seed (`SU…`). Handle as a secret.
    public var nkeySeed: String { NKey.encodeSeed(seed, prefix: .user) }

    /// Signs `message` (ed25519).
    public func sign(_ message: [UInt8]) -> [UInt8] {
        Array(try! privateKey.signature(for: message))
    }

    public var description: String { "UserKeyPair(\(nkey), seed: <secret>)" }
}
