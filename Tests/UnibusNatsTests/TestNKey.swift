import UnibusNats

/// An nkey user for tests: a random 32-byte ed25519 seed and its public nkey (`U…`).
///
/// The encoding is nkeys': base32 (RFC 4648, no padding) of the prefix byte (user: 20 << 3 =
/// 0xA0), the 32 public-key bytes, and a CRC16-XMODEM of those 33 bytes, little-endian.
/// Checked against python `nkeys` in `NatsNKeyEncodingTests`.
struct TestNKey {
    let seed: NatsNKeySeed
    let publicKey: String

    init(seed bytes: [UInt8]) throws {
        seed = try NatsNKeySeed(bytes)
        publicKey = Self.encodeUserPublicKey(seed.publicKeyBytes)
    }

    /// A fresh random user.
    static func random() throws -> TestNKey {
        var generator = SystemRandomNumberGenerator()
        return try TestNKey(seed: (0..<32).map { _ in generator.next() })
    }

    var credentials: NatsNKeyCredentials { NatsNKeyCredentials(publicKey: publicKey, seed: seed) }

    static func encodeUserPublicKey(_ key: [UInt8]) -> String {
        var raw: [UInt8] = [20 << 3] + key
        let crc = crc16XModem(raw)
        raw += [UInt8(crc & 0xFF), UInt8(crc >> 8)]
        return base32(raw)
    }

    static func crc16XModem(_ bytes: [UInt8]) -> UInt16 {
        var crc: UInt16 = 0
        for byte in bytes {
            crc ^= UInt16(byte) << 8
            for _ in 0..<8 { crc = crc & 0x8000 != 0 ? (crc << 1) ^ 0x1021 : crc << 1 }
        }
        return crc
    }

    static func base32(_ bytes: [UInt8]) -> String {
        let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZ234567")
        var output = ""
        var buffer: UInt32 = 0
        var bits = 0
        for byte in bytes {
            buffer = (buffer << 8) | UInt32(byte)
            bits += 8
            while bits >= 5 {
                output.append(alphabet[Int((buffer >> UInt32(bits - 5)) & 31)])
                bits -= 5
            }
        }
        if bits > 0 { output.append(alphabet[Int((buffer << UInt32(5 - bits)) & 31)]) }
        return output
    }
}
