public import Foundation
import HTTPTypes
public import Hummingbird
import Logging
import NIOCore
public import UnibusCore

/// Authenticates every request except `GET /healthz` by its RFC 9421 ed25519 signature
/// (contract section 4): reads the body (64 KiB at most), checks the signature, its window and
/// digest, that the keyid is an **active** user, and consumes the nonce exactly once through the
/// store. When the store cannot confirm the nonce the answer is 503: it fails closed.
///
/// ```swift
/// router.add(middleware: SignedRequestAuthenticator(store: store))
/// ```
public struct SignedRequestAuthenticator: RouterMiddleware {
    public typealias Context = ControlPlaneContext
    let store: any AllowlistStore
    let policy: SignaturePolicy
    let now: @Sendable () -> Date

    public init(store: any AllowlistStore, policy: SignaturePolicy = .init(), now: @escaping @Sendable () -> Date = Date.init) {
        self.store = store
        self.policy = policy
        self.now = now
    }

    public func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        if request.uri.path == "/healthz" { return try await next(request, context) }
        var request = request
        var context = context
        if let length = request.headers[.contentLength].flatMap(Int.init), length > ControlPlane.maxBody {
            throw Self.tooLarge
        }
        let body: ByteBuffer
        do { body = try await request.collectBody(upTo: ControlPlane.maxBody) } catch is NIOTooManyBytesError { throw Self.tooLarge }
        let caller = try await authenticate(request, origin: try context.requireOrigin(), body: body, logger: context.logger)
        context.caller = caller
        context.body = body
        return try await next(request, context)
    }

    static let tooLarge = APIError(.contentTooLarge, "too-large", "request bodies are limited to \(ControlPlane.maxBody) bytes")

    func authenticate(_ request: Request, origin: PublicOrigin, body: ByteBuffer, logger: Logger) async throws -> User {
        let verified: SignaturePolicy.Verified
        do {
            let (input, signature) = try SignatureHeaders.parse(input: request.headers[.signatureInput], signature: request.headers[.signature])
            let digest = try SignatureHeaders.contentDigest(request.headers[.contentDigest])
            let bodyBytes = body.readableBytesView
            verified = try policy.verify(
                request: Self.signedRequest(request, origin: origin), input: input, signature: signature,
                bodyDigest: bodyBytes.isEmpty ? nil : ContentDigest.sha256(bodyBytes), contentDigest: digest, now: now())
        } catch let error as SignatureError {
            throw APIError(.unauthorized, error.code, error.description)
        }
        let user: User?
        do {
            user = try await store.user(verified.keyID)
        } catch {
            throw APIError.unavailable("cannot read the allowlist: \(clientText(error, logger: logger))")
        }
        guard let user else { throw APIError(.unauthorized, "unknown-key", "keyid \(verified.keyID) is not a registered user") }
        guard user.status == .active else { throw APIError(.forbidden, "revoked", "user \(user.handle) is revoked") }
        let fresh: Bool
        do {
            fresh = try await store.consumeNonce(verified.nonce, expiresAt: verified.nonceExpiry, now: now())
        } catch {
            throw APIError.unavailable("the nonce could not be recorded, so the request is refused: \(clientText(error, logger: logger))")
        }
        guard fresh else { throw APIError(.unauthorized, "replayed", "nonce \(verified.nonce) was already used") }
        return user
    }

    /// What the signature covers; `@target-uri` names the node's own matched origin, never the `Host` as sent.
    static func signedRequest(_ request: Request, origin: PublicOrigin) -> SignedRequest {
        SignedRequest(
            method: request.method.rawValue, scheme: "https", authority: origin.authority,
            path: request.uri.path, query: request.uri.query,
            headers: request.headers.map { ($0.name.canonicalName, $0.value) })
    }
}

extension HTTPField.Name {
    static let signatureInput = Self("Signature-Input")!
    static let signature = Self("Signature")!
    static let contentDigest = Self("Content-Digest")!
}
