/// NATS nkey encoding of ed25519 keys: base32 (RFC 4648, no padding) of a prefix byte, the 32
/// key bytes and a CRC-16/XMODEM checksum (little-endian), exactly as nats-io/nkeys does it.
///
/// ```swift
/// let nkey = NKey.encodePublic(rawPublicKey, prefix: .user)      // "U…", 56 characters
/// let (prefix, raw) = try NKey.decodePublic(nkey)
/// ```
public enum NKey {
    /// The role a public nkey names; its prefix byte gives the first base32 character.
    public enum Prefix: UInt8, Sendable, CaseIterable {
        case account = 0  // 'A'
        case cluster = 16  // 'C'
        case operator_ = 112  // 'O'
        case server = 104  // 'N'
        case user = 160  // 'U'
    }

    static let seedPrefix: UInt8 = 18 << 3  // 'S'

    /// Encodes 32 raw public key bytes as a public nkey.
    public static func encodePublic(_ raw: [UInt8], prefix: Prefix) -> String {
        precondition(raw.count == 32, "an ed25519 public key has 32 bytes")
        return Base32.encode(withChecksum([prefix.rawValue] + raw))
    }

    /// Encodes a 32-byte ed25519 seed as an nkey seed (`SU…` for a user, 58 characters).
    public static func encodeSeed(_ seed: [UInt8], prefix: Prefix) -> String {
        precondition(seed.count == 32, "an ed25519 seed has 32 bytes")
        let b1 = seedPrefix | (prefix.rawValue >> 5)
        let b2 = (prefix.rawValue & 31) << 3
        return Base32.encode(withChecksum([b1, b2] + seed))
    }

    /// Decodes a public nkey into its prefix and 32 raw bytes.
    /// - Throws: `NKeyError` for bad base32, length, checksum or prefix.
    public static func decodePublic(_ text: String) throws(NKeyError) -> (prefix: Prefix, raw: [UInt8]) {
        let bytes = try checkedPayload(text, expectedLength: 35)
        guard let prefix = Prefix(rawValue: bytes[0]) else { throw .invalidPrefix }
        return (prefix, Array(bytes[1...]))
    }

    /// Decodes an nkey seed into the prefix of its key pair and the 32-byte ed25519 seed.
    /// - Throws: `NKeyError` for bad base32, length, checksum or prefix.
    public static func decodeSeed(_ text: String) throws(NKeyError) -> (prefix: Prefix, seed: [UInt8]) {
        let bytes = try checkedPayload(text, expectedLength: 36)
        guard bytes[0] & 0xf8 == seedPrefix else { throw .invalidPrefix }
        let inner = (bytes[0] & 0x07) << 5 | (bytes[1] & 0xf8) >> 3
        guard let prefix = Prefix(rawValue: inner) else { throw .invalidPrefix }
        return (prefix, Array(bytes[2...]))
    }

    /// Decodes a user public nkey (`U…`) to its raw key.
    public static func decodeUser(_ text: String) throws(NKeyError) -> [UInt8] {
        let (prefix, raw) = try decodePublic(text)
        guard prefix == .user else { throw .invalidPrefix }
        return raw
    }

    /// Whether `text` is a well-formed user public nkey (safe to render into a config).
    public static func isUserPublicKey(_ text: String) -> Bool {
        (try? decodeUser(text)) != nil
    }

    private static func withChecksum(_ payload: [UInt8]) -> [UInt8] {
        let crc = CRC16.xmodem(payload)
        return payload + [UInt8(crc & 0xff), UInt8(crc >> 8)]
    }

    private static func checkedPayload(_ text: String, expectedLength: Int) throws(NKeyError) -> [UInt8] {
        guard let raw = Base32.decode(text) else { throw .invalidEncoding }
        guard raw.count == expectedLength else { throw .invalidLength(raw.count) }
        let payload = Array(raw[..<(raw.count - 2)])
        let crc = UInt16(raw[raw.count - 2]) | UInt16(raw[raw.count - 1]) << 8
        guard CRC16.xmodem(payload) == crc else { throw .invalidChecksum }
        return payload
    }
}

/// Why an nkey could not be decoded.
public enum NKeyError: Error, Equatable, Sendable, CustomStringConvertible {
    case invalidEncoding, invalidLength(Int), invalidChecksum, invalidPrefix
    public var description: String {
        switch self {
        case .invalidEncoding: "nkey is not valid base32"
        case .invalidLength(let n): "nkey decodes to \(n) bytes, which is not a key"
        case .invalidChecksum: "nkey checksum does not match"
        case .invalidPrefix: "nkey has the wrong prefix for this kind of key"
        }
    }
}
