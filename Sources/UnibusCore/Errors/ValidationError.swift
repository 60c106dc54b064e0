/// A value given by an operator or a client that does not have the shape the contract requires.
///
/// Messages say what was expected and what was received (never a secret), so the same text can
/// be printed by the CLI and returned by the HTTP API.
public enum ValidationError: Error, Equatable, Sendable, CustomStringConvertible {
    case signPubLength(Int)
    case signPubNotHex
    /// A NATS public nkey was given for a sign-pub; `hex` is the same key in hex when it is a
    /// user nkey (`U…`), nil for another kind (account, server…).
    case signPubIsNKey(hex: String?)
    /// An nkey seed (`S…`, a secret) was given for a sign-pub. The seed is never echoed.
    case signPubIsSeed
    /// Not the canonical encoding of a point (y ≥ p, or x = 0 with the sign bit set).
    case signPubNotCanonical(String)
    /// No curve point has this encoding.
    case signPubNotOnCurve(String)
    /// A point of order 1, 2, 4 or 8.
    case signPubSmallOrder(String, order: Int)
    case handle(String)
    case role(String)
    case memberRole(String)
    case status(String)
    case roomID(String)
    case nonce(String)
    case epoch(Int64)
    case wrappedKeyEmpty
    case wrappedKeyTooLarge(Int)

    public var description: String {
        switch self {
        case .signPubLength(let n):
            "sign-pub must be 64 hex characters (an ed25519 public key); got \(n) characters"
        case .signPubNotHex:
            "sign-pub must be 64 hex characters (0-9, a-f); it contains a non-hex character"
        case .signPubIsNKey(let hex?):
            "sign-pub must be the 64 hex characters of the ed25519 public key, not its NATS nkey (U…, 56 characters): give \(hex), the same key in hex"
        case .signPubIsNKey(nil):
            "sign-pub must be the 64 hex characters of a user's ed25519 public key; this is a NATS nkey of another kind (not U…)"
        case .signPubIsSeed:
            "sign-pub must be a public key, and this is an nkey seed (S…): a secret, never to be pasted on a command line or into a request; treat that key as exposed (shell history, process list), make a new one and give the 64 hex characters of its public key"
        case .signPubNotCanonical(let k):
            "sign-pub \(k) is not the canonical encoding of an ed25519 point (y ≥ p, or x = 0 with the sign bit set): such aliases include the small-order points, whose signatures can be forged without a secret; generate a new ed25519 key"
        case .signPubNotOnCurve(let k):
            "sign-pub \(k) is not a point on the ed25519 curve, so it is not a public key anyone holds the secret of; generate a new ed25519 key"
        case .signPubSmallOrder(let k, let order):
            "sign-pub \(k) is a small-order point (order \(order)): signatures for it can be forged without a secret; generate a new ed25519 key"
        case .handle(let h):
            "invalid handle \(Quoted(h)): expected 1-32 characters, a lowercase letter first, then a-z, 0-9, '_' or '-'"
        case .role(let r):
            "unknown role \(Quoted(r)): expected admin or member"
        case .memberRole(let r):
            "unknown member role \(Quoted(r)): expected owner or member"
        case .status(let s):
            "unknown status \(Quoted(s)): expected active or revoked"
        case .roomID(let r):
            "invalid room id \(Quoted(r)): expected 1-64 characters of a-z, 0-9, '_' or '-' (starting with a letter or digit); no dots, wildcards or spaces"
        case .nonce(let n):
            "invalid nonce \(Quoted(n)): expected 16-64 characters of A-Z, a-z, 0-9, '_' or '-'"
        case .epoch(let e):
            "invalid epoch \(e): expected an integer from 0 to 2^53"
        case .wrappedKeyEmpty:
            "wrapped key is empty: expected the base64 of the wrapped room key"
        case .wrappedKeyTooLarge(let n):
            "wrapped key is \(n) bytes: at most \(RoomKey.maxWrappedBytes) bytes are accepted"
        }
    }
}

/// Shows an untrusted value inside a message: quoted, truncated, control characters escaped.
struct Quoted: CustomStringConvertible {
    let value: String
    init(_ value: String) { self.value = value }
    var description: String {
        let limit = 80
        var shown = String(
            value.unicodeScalars.prefix(limit).map { scalar -> String in
                scalar.value < 0x20 || scalar.value == 0x7f || scalar == "'"
                    ? "\\u{\(String(scalar.value, radix: 16))}" : String(scalar)
            }.joined())
        if value.unicodeScalars.count > limit { shown += "…" }
        return "'\(shown)'"
    }
}
