internal import Crypto

/// The 32 raw bytes of an ed25519 nkey seed, held as a value that never prints them.
///
/// `description`, `debugDescription` and `dump` all show `<nkey seed, 32 bytes>`. Read the seed
/// from a 0600 file and pass it in; never put it in argv or the environment.
public struct NatsNKeySeed: Sendable, CustomStringConvertible,
    CustomDebugStringConvertible, CustomReflectable
{
    let bytes: [UInt8]

    /// Wraps raw seed bytes (the ed25519 private key seed, not the `SU…` text form).
    /// - Throws: ``NatsError`` with `NATS_INVALID_ARG` unless there are exactly 32 bytes.
    public init(_ bytes: [UInt8]) throws(NatsError) {
        guard bytes.count == 32 else {
            throw .invalidArgument(
                "read nkey seed", "an nkey seed is 32 raw bytes (ed25519); got \(bytes.count)")
        }
        self.bytes = bytes
    }

    /// The ed25519 public key for this seed: 32 raw bytes (encode it as `U…` to name the user).
    public var publicKeyBytes: [UInt8] {
        Array(signingKey.publicKey.rawRepresentation)
    }

    /// `<nkey seed, 32 bytes>`.
    public var description: String { "<nkey seed, \(bytes.count) bytes>" }
    /// Same as ``description``.
    public var debugDescription: String { description }
    /// A mirror with no children, so `dump` and reflection cannot reach the bytes.
    public var customMirror: Mirror { Mirror(self, children: [], displayStyle: .struct) }

    var signingKey: Curve25519.Signing.PrivateKey {
        // Cannot fail: the initialiser checked the length, and any 32 bytes are a valid seed.
        try! Curve25519.Signing.PrivateKey(rawRepresentation: bytes)
    }
}
