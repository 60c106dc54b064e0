/// An ed25519 public key, the identity of a user: 64 hex characters on input (any case),
/// always held and printed lowercase.
///
/// `init(hex:)` checks the shape only, so that records stored before keys were checked can still
/// be read, listed and reported. Every entry point (CLI, API, migration, stores) uses
/// `init(registering:)` or `validateForRegistration()`, which also require a canonical point of
/// large order (`Ed25519PointCheck`); `weakness` tells why a stored key must be left out.
public struct SignPub: Hashable, Comparable, Sendable, CustomStringConvertible, Codable {
    /// Lowercase hex, 64 characters.
    public let hex: String

    /// Validates and normalises a hex sign-pub.
    /// - Throws: `ValidationError.signPubLength` or `.signPubNotHex`; `.signPubIsNKey` or
    ///   `.signPubIsSeed` for a NATS nkey or seed given instead of the hex key.
    public init(hex input: String) throws(ValidationError) {
        guard input.utf8.count == 64 else { throw Self.wrongLength(input) }
        guard input.utf8.allSatisfy(Hex.isDigit) else { throw .signPubNotHex }
        hex = input.lowercased()
    }

    /// Why a string that is not 64 characters long is no sign-pub: named when it is a NATS nkey
    /// (`U…`, 56 characters) or an nkey seed (`S…`, 58 characters, a secret), else its length.
    static func wrongLength(_ input: String) -> ValidationError {
        if input.utf8.count == 58, input.hasPrefix("S"), input.utf8.allSatisfy(Self.isBase32) { return .signPubIsSeed }
        if input.utf8.count == 56, let (prefix, raw) = try? NKey.decodePublic(input) {
            return .signPubIsNKey(hex: prefix == .user ? Hex.encode(raw) : nil)
        }
        return .signPubLength(input.count)
    }

    private static func isBase32(_ c: UInt8) -> Bool { (c >= 0x41 && c <= 0x5a) || (c >= 0x32 && c <= 0x37) }

    /// Validates a key that is being registered: the shape, then a canonical point of large order.
    /// - Throws: the shape errors, `.signPubNotCanonical`, `.signPubNotOnCurve` or `.signPubSmallOrder`.
    public init(registering input: String) throws(ValidationError) {
        try self.init(hex: input)
        try validateForRegistration()
    }

    /// Throws why this key must not be trusted, if it must not.
    public func validateForRegistration() throws(ValidationError) {
        if let weakness { throw weakness }
    }

    /// Why this key must not be trusted (not a canonical point of large order), or nil.
    public var weakness: ValidationError? {
        switch Ed25519PointCheck.cachedCheck(bytes) {
        case .largeOrder: nil
        case .notCanonical: .signPubNotCanonical(hex)
        case .notOnCurve: .signPubNotOnCurve(hex)
        case .smallOrder(let order): .signPubSmallOrder(hex, order: order)
        }
    }

    /// Wraps 32 raw key bytes.
    public init(bytes: [UInt8]) throws(ValidationError) {
        guard bytes.count == 32 else { throw .signPubLength(bytes.count * 2) }
        hex = Hex.encode(bytes)
    }

    /// The 32 raw bytes.
    public var bytes: [UInt8] { Hex.decode(hex)! }

    /// The NATS user public nkey (`U…`, 56 characters) of the same key.
    public var nkey: String { NKey.encodePublic(bytes, prefix: .user) }

    public var description: String { hex }
    public static func < (a: SignPub, b: SignPub) -> Bool { a.hex < b.hex }

    public init(from decoder: any Decoder) throws {
        let raw = try decoder.singleValueContainer().decode(String.self)
        do { try self.init(hex: raw) } catch {
            throw DecodingError.dataCorrupted(.init(codingPath: decoder.codingPath, debugDescription: error.description))
        }
    }
    public func encode(to encoder: any Encoder) throws {
        var c = encoder.singleValueContainer()
        try c.encode(hex)
    }
}

/// Hex helpers (lowercase output).
public enum Hex {
    static func isDigit(_ c: UInt8) -> Bool {
        (c >= 0x30 && c <= 0x39) || (c >= 0x61 && c <= 0x66) || (c >= 0x41 && c <= 0x46)
    }
    /// Lowercase hex of the bytes.
    public static func encode(_ bytes: some Sequence<UInt8>) -> String {
        let digits = Array("0123456789abcdef".utf8)
        var out = [UInt8]()
        for b in bytes { out.append(digits[Int(b >> 4)]); out.append(digits[Int(b & 0xf)]) }
        return String(decoding: out, as: UTF8.self)
    }
    /// Bytes of an even-length hex string, or nil if it is not hex.
    public static func decode(_ text: String) -> [UInt8]? {
        let u = Array(text.utf8)
        guard u.count % 2 == 0 else { return nil }
        func nibble(_ c: UInt8) -> UInt8? {
            switch c {
            case 0x30...0x39: c - 0x30
            case 0x61...0x66: c - 0x61 + 10
            case 0x41...0x46: c - 0x41 + 10
            default: nil
            }
        }
        var out = [UInt8]()
        out.reserveCapacity(u.count / 2)
        var i = 0
        while i < u.count {
            guard let h = nibble(u[i]), let l = nibble(u[i + 1]) else { return nil }
            out.append(h << 4 | l)
            i += 2
        }
        return out
    }
}
