/// A string identifier that exists only once validated; encodes as its plain string and
/// refuses, when decoded, anything its initializer refuses.
public protocol ValidatedIdentifier: Hashable, Comparable, Sendable, CustomStringConvertible, Codable {
    var value: String { get }
    init(_ text: String) throws(ValidationError)
}

extension ValidatedIdentifier {
    public var description: String { value }
    public static func < (a: Self, b: Self) -> Bool { a.value < b.value }

    public init(from decoder: any Decoder) throws {
        let raw = try decoder.singleValueContainer().decode(String.self)
        do { try self.init(raw) } catch {
            throw DecodingError.dataCorrupted(.init(codingPath: decoder.codingPath, debugDescription: error.description))
        }
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.singleValueContainer()
        try c.encode(value)
    }
}

/// A user handle: `^[a-z][a-z0-9_-]{0,31}$`. Safe inside a NATS subject (`_INBOX.<handle>`).
public struct Handle: ValidatedIdentifier {
    public let value: String

    /// - Throws: `ValidationError.handle` when the text does not match the contract's pattern.
    public init(_ text: String) throws(ValidationError) {
        let u = Array(text.utf8)
        guard (1...32).contains(u.count), Ascii.isLower(u[0]),
            u.dropFirst().allSatisfy({ Ascii.isLower($0) || Ascii.isDigit($0) || $0 == 0x5f || $0 == 0x2d })
        else { throw .handle(text) }
        value = text
    }

}

/// A room id: `^[a-z0-9][a-z0-9_-]{0,63}$` — no dots, wildcards or spaces, so `unibus.room.<id>`
/// is exactly one subject token.
public struct RoomID: ValidatedIdentifier {
    public let value: String

    /// - Throws: `ValidationError.roomID` when the text does not match the contract's pattern.
    public init(_ text: String) throws(ValidationError) {
        let u = Array(text.utf8)
        guard (1...64).contains(u.count), Ascii.isLower(u[0]) || Ascii.isDigit(u[0]),
            u.dropFirst().allSatisfy({ Ascii.isLower($0) || Ascii.isDigit($0) || $0 == 0x5f || $0 == 0x2d })
        else { throw .roomID(text) }
        value = text
    }

}

/// A request nonce: 16–64 characters of `[A-Za-z0-9_-]`.
public struct NonceValue: Hashable, Sendable, CustomStringConvertible {
    public let value: String

    /// - Throws: `ValidationError.nonce`.
    public init(_ text: String) throws(ValidationError) {
        let u = Array(text.utf8)
        guard (16...64).contains(u.count),
            u.allSatisfy({ Ascii.isLower($0) || Ascii.isUpper($0) || Ascii.isDigit($0) || $0 == 0x5f || $0 == 0x2d })
        else { throw .nonce(text) }
        value = text
    }
    public var description: String { value }
}

enum Ascii {
    static func isLower(_ c: UInt8) -> Bool { c >= 0x61 && c <= 0x7a }
    static func isUpper(_ c: UInt8) -> Bool { c >= 0x41 && c <= 0x5a }
    static func isDigit(_ c: UInt8) -> Bool { c >= 0x30 && c <= 0x39 }
}
