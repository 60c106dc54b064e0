public import Foundation

/// Signs requests the way the control plane verifies them (contract section 4). Used by
/// `membershipd api` and by tests.
///
/// ```swift
/// let headers = try RequestSigner.sign(request, with: keyPair, created: Date(), nonce: NonceValue(random))
/// // headers.signatureInput == "sig1=(\"@method\" \"@target-uri\" …);created=…;…"
/// ```
public enum RequestSigner {
    public struct Headers: Sendable, Equatable {
        public var signatureInput: String
        public var signature: String
        public var contentDigest: String?
    }

    /// - Parameter body: the body to digest and cover; nil for none.
    public static func sign(
        _ request: SignedRequest, body: Data?, with key: UserKeyPair, created: Date,
        expires: Date? = nil, nonce: NonceValue, label: String = "sig1"
    ) throws(SignatureError) -> Headers {
        var request = request
        var components = ["@method", "@target-uri"]
        var digest: String?
        if let body {
            digest = ContentDigest.header(for: body)
            request.headers.append(("content-digest", digest!))
            components.append("content-digest")
        }
        var parameters: [(name: String, value: SignatureInput.Value)] = [("created", .integer(Int64(created.timeIntervalSince1970)))]
        if let expires { parameters.append(("expires", .integer(Int64(expires.timeIntervalSince1970)))) }
        parameters += [("nonce", .string(nonce.value)), ("keyid", .string(key.signPub.hex)), ("alg", .string("ed25519"))]
        let input = SignatureInput(components: components, parameters: parameters)
        let base = try SignatureBase.build(request, input)
        let signature = Data(key.sign(Array(base.utf8))).base64EncodedString()
        return Headers(signatureInput: "\(label)=\(input.serialized)", signature: "\(label)=:\(signature):", contentDigest: digest)
    }

    /// A random nonce of 32 URL-safe characters.
    public static func randomNonce() -> NonceValue {
        let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-")
        return try! NonceValue(String((0..<32).map { _ in alphabet.randomElement()! }))
    }
}
