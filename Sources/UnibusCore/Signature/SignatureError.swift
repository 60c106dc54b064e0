/// Why a signed request is refused, with the contract's error code (section 4).
public enum SignatureError: Error, Equatable, Sendable, CustomStringConvertible {
    case unsigned
    case malformed(String)
    case duplicateComponent(String)
    case unsupportedComponent(String)
    case missingComponent(String)
    case notCovered(String)
    case algorithm(String)
    case keyID(String)
    /// The keyid is not a canonical point of large order (the reason, from `SignPub.weakness`).
    case weakKey(String)
    case nonce(String)
    case expired(String)
    case digestMismatch
    case badSignature

    /// The API error code: `unsigned`, `bad-signature` or `expired`.
    public var code: String {
        switch self {
        case .unsigned: "unsigned"
        case .expired: "expired"
        default: "bad-signature"
        }
    }

    public var description: String {
        switch self {
        case .unsigned: "the request carries no Signature-Input/Signature headers; sign it (RFC 9421, ed25519)"
        case .malformed(let what): "malformed signature headers: \(what)"
        case .duplicateComponent(let c): "component \"\(c)\" is covered twice"
        case .unsupportedComponent(let c): "component \"\(c)\" is not supported"
        case .missingComponent(let c): "covered component \"\(c)\" is not in the request"
        case .notCovered(let c): "the signature must cover \"\(c)\""
        case .algorithm(let a): "alg must be \"ed25519\", not \"\(a)\""
        case .keyID(let k): "keyid must be the signer's sign-pub (64 hex characters), not \(Quoted(k))"
        case .weakKey(let why): "keyid refused: \(why)"
        case .nonce(let n): "nonce must be 16-64 characters of A-Z a-z 0-9 _ -, not \(Quoted(n))"
        case .expired(let why): why
        case .digestMismatch: "Content-Digest does not match the body (sha-256, RFC 9530)"
        case .badSignature: "the signature does not verify with the keyid's public key"
        }
    }
}
