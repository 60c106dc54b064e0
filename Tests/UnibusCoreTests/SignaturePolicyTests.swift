import Foundation
import Testing
import UnibusCore
import UnibusTestSupport

/// The contract's signature rules, without HTTP: sign with RequestSigner, verify with SignaturePolicy.
@Suite("signature policy")
struct SignaturePolicyTests {
    static let key = Fixture.keyPair(1)
    static let now = Date(timeIntervalSince1970: 1_800_000_000)
    static let body = Data(#"{"id":"general"}"#.utf8)

    static func request(_ method: String = "POST", path: String = "/v1/rooms") -> SignedRequest {
        SignedRequest(method: method, scheme: "https", authority: "127.0.0.1:8470", path: path, query: nil, headers: [])
    }

    /// Signs `signed`, then verifies against `received` (defaults to the same request and body).
    static func verify(
        signed: SignedRequest = request(), body: Data? = body, received: SignedRequest? = nil, receivedBody: Data?? = nil,
        created: Date = now, expires: Date? = nil, nonce: String = "nonce-0123456789abcdef",
        edit: (inout SignatureInput) -> Void = { _ in }
    ) throws -> SignaturePolicy.Verified {
        let headers = try RequestSigner.sign(signed, body: body, with: key, created: created, expires: expires, nonce: NonceValue(nonce))
        var input = try Self.parse(headers.signatureInput)
        edit(&input)
        let signature = Data(base64Encoded: String(headers.signature.dropFirst(6).dropLast()))!
        let actualBody = receivedBody ?? body
        let digest = headers.contentDigest.map { Data(base64Encoded: String($0.dropFirst(9).dropLast()))! }
        var req = received ?? signed
        if let d = headers.contentDigest { req.headers.append(("content-digest", d)) }
        return try SignaturePolicy().verify(
            request: req, input: input, signature: signature,
            bodyDigest: actualBody.map { ContentDigest.sha256($0) }, contentDigest: digest, now: now)
    }

    /// A tiny parser for what RequestSigner writes (the real server uses swift-http-structured-headers).
    static func parse(_ header: String) throws -> SignatureInput {
        let value = header.split(separator: "=", maxSplits: 1)[1]
        let close = value.firstIndex(of: ")")!
        let comps = value[value.index(after: value.startIndex)..<close].split(separator: " ").map { String($0.dropFirst().dropLast()) }
        let params = value[value.index(after: close)...].split(separator: ";").map { p -> (name: String, value: SignatureInput.Value) in
            let kv = p.split(separator: "=", maxSplits: 1)
            let v = String(kv[1])
            return (String(kv[0]), v.hasPrefix("\"") ? .string(String(v.dropFirst().dropLast())) : .integer(Int64(v)!))
        }
        return SignatureInput(components: comps, parameters: params)
    }

    @Test func aProperlySignedRequestVerifies() throws {
        let v = try Self.verify()
        #expect(v.keyID == Self.key.signPub && v.nonce.value == "nonce-0123456789abcdef")
        #expect(v.nonceExpiry >= Self.now + 300)
    }

    @Test func anotherMethodPathOrBodyIsRefused() {
        #expect(throws: SignatureError.badSignature) { try Self.verify(received: Self.request("PUT")) }
        #expect(throws: SignatureError.badSignature) { try Self.verify(received: Self.request(path: "/v1/users")) }
        #expect(throws: SignatureError.digestMismatch) { try Self.verify(receivedBody: .some(Data("{}".utf8))) }
    }

    @Test("created 301 s in the past or the future is expired", arguments: [-301.0, 301.0])
    func createdOutsideTheWindow(_ offset: Double) {
        #expect(throws: SignatureError.self) { try Self.verify(created: Self.now + offset) }
        #expect((try? Self.verify(created: Self.now + offset * 299 / 301)) != nil)
    }

    @Test func expiresInThePastIsRefused() {
        let error = #expect(throws: SignatureError.self) { try Self.verify(expires: Self.now - 1) }
        #expect(error?.code == "expired")
    }

    @Test("bad nonces", arguments: ["short", String(repeating: "n", count: 65), "nonce with spaces!!", "nonce.0123456789abcdef"])
    func badNonces(_ nonce: String) {
        #expect(throws: SignatureError.nonce(nonce)) {
            try Self.verify { $0.parameters = $0.parameters.map { $0.name == "nonce" ? ("nonce", .string(nonce)) : $0 } }
        }
    }

    @Test func otherAlgorithmsAreRefused() {
        #expect(throws: SignatureError.algorithm("hmac-sha256")) {
            try Self.verify { $0.parameters = $0.parameters.map { $0.name == "alg" ? ("alg", .string("hmac-sha256")) : $0 } }
        }
    }

    @Test func malformedKeyIDIsRefused() {
        #expect(throws: SignatureError.keyID("test-key")) {
            try Self.verify { $0.parameters = $0.parameters.map { $0.name == "keyid" ? ("keyid", .string("test-key")) : $0 } }
        }
    }

    @Test func methodTargetAndDigestMustBeCovered() {
        #expect(throws: SignatureError.notCovered("@target-uri")) { try Self.verify { $0.components.removeAll { $0 == "@target-uri" } } }
        #expect(throws: SignatureError.notCovered("@method")) { try Self.verify { $0.components.removeAll { $0 == "@method" } } }
        #expect(throws: SignatureError.notCovered("content-digest")) { try Self.verify { $0.components.removeAll { $0 == "content-digest" } } }
    }

    /// A = identity, R = identity, S = 0: swift-crypto verifies it for any message, so the policy
    /// must refuse the keyid before verifying.
    @Test func aForgedSignatureForTheIdentityKeyIsRefused() throws {
        let identity = "01" + String(repeating: "0", count: 62)
        let forged = Data([1] + [UInt8](repeating: 0, count: 63))
        let input = SignatureInput(
            components: ["@method", "@target-uri"],
            parameters: [
                ("created", .integer(Int64(Self.now.timeIntervalSince1970))), ("nonce", .string("nonce-0123456789abcdef")),
                ("keyid", .string(identity)), ("alg", .string("ed25519")),
            ])
        let error = #expect(throws: SignatureError.self) {
            try SignaturePolicy().verify(
                request: Self.request("GET", path: "/v1/me"), input: input, signature: forged, bodyDigest: nil,
                contentDigest: nil, now: Self.now)
        }
        #expect(error?.code == "bad-signature")
        #expect(error?.description.contains("small-order point (order 1)") == true)
    }

    @Test func aBodylessGetVerifies() throws {
        _ = try Self.verify(signed: Self.request("GET", path: "/v1/me"), body: nil)
    }
}
