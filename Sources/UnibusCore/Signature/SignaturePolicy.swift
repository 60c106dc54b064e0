import Crypto
public import Foundation

/// The contract's rules for a signed request (section 4), applied to already-parsed headers.
/// What needs the store (is the key an active user, was the nonce seen) is left to the caller.
public struct SignaturePolicy: Sendable {
    /// How far `created` may be from the server clock, either way.
    public var window: TimeInterval = 300

    public init(window: TimeInterval = 300) { self.window = window }

    /// What a verified signature tells the caller.
    public struct Verified: Equatable, Sendable {
        public var keyID: SignPub
        public var nonce: NonceValue
        /// Until when the nonce must be remembered: the end of the signature's validity.
        public var nonceExpiry: Date
    }

    /// Checks the metadata, rebuilds the base, and verifies the ed25519 signature.
    /// - Parameters:
    ///   - bodyDigest: sha-256 of the body when there is one (nil for no body).
    ///   - contentDigest: the parsed `sha-256` member of Content-Digest, if present.
    /// - Throws: `SignatureError` (map `code` to the HTTP answer).
    public func verify(
        request: SignedRequest, input: SignatureInput, signature: Data, bodyDigest: Data?,
        contentDigest: Data?, now: Date
    ) throws(SignatureError) -> Verified {
        for required in ["@method", "@target-uri"] where !input.components.contains(required) { throw .notCovered(required) }
        if let bodyDigest {
            guard input.components.contains("content-digest") else { throw .notCovered("content-digest") }
            guard let contentDigest else { throw .missingComponent("content-digest") }
            guard contentDigest == bodyDigest else { throw .digestMismatch }
        } else if input.components.contains("content-digest"), let contentDigest, contentDigest != ContentDigest.sha256(Data()) {
            throw .digestMismatch
        }
        let alg = input.string("alg") ?? ""
        guard alg == "ed25519" else { throw .algorithm(alg) }
        let keyText = input.string("keyid") ?? ""
        guard let keyID = try? SignPub(hex: keyText) else { throw .keyID(keyText) }
        // swift-crypto accepts small-order keys, for which (R = identity, S = 0) verifies anything.
        if let weakness = keyID.weakness { throw .weakKey(weakness.description) }
        let nonceText = input.string("nonce") ?? ""
        guard let nonce = try? NonceValue(nonceText) else { throw .nonce(nonceText) }
        guard let created = input.integer("created") else { throw .malformed("created is required") }
        let createdAt = Date(timeIntervalSince1970: TimeInterval(created))
        guard abs(createdAt.timeIntervalSince(now)) <= window else {
            throw .expired("created \(created) is more than \(Int(window)) s from the server clock (\(Int(now.timeIntervalSince1970)))")
        }
        var validUntil = createdAt + window
        if let expires = input.integer("expires") {
            let expiresAt = Date(timeIntervalSince1970: TimeInterval(expires))
            guard expiresAt > now else { throw .expired("the signature expired at \(expires)") }
            validUntil = min(validUntil, expiresAt)
        }
        let base = try SignatureBase.build(request, input)
        guard let key = try? Curve25519.Signing.PublicKey(rawRepresentation: keyID.bytes),
            key.isValidSignature(signature, for: Data(base.utf8))
        else { throw .badSignature }
        // Remember the nonce for as long as *any* signature carrying it could be accepted.
        return Verified(keyID: keyID, nonce: nonce, nonceExpiry: max(validUntil, now + window) + window)
    }
}
