public import Hummingbird
public import UnibusCore

/// Per-request context: the authenticated caller and the body, read once by the authenticator.
public struct ControlPlaneContext: RequestContext {
    public var coreContext: CoreRequestContextStorage
    /// The verified, active user who signed the request (nil only on `/healthz`).
    public var caller: User?
    /// The request body, at most `ControlPlane.maxBody` bytes.
    public var body: ByteBuffer = ByteBuffer()
    /// The node's origin the request is addressed to (set by `OriginPolicy`).
    public var origin: PublicOrigin?

    public init(source: Source) {
        coreContext = .init(source: source)
    }

    /// Bodies are refused beyond 64 KiB (413) before they are buffered whole.
    public var maxUploadSize: Int { ControlPlane.maxBody }

    /// The caller, for handlers behind the authenticator.
    func requireCaller() throws -> User {
        guard let caller else { throw APIError(.unauthorized, "unsigned", "this endpoint needs a signed request") }
        return caller
    }

    /// The matched origin; without one nothing can be verified, so the request is misdirected.
    func requireOrigin() throws -> PublicOrigin {
        guard let origin else { throw APIError.misdirected("the request names no origin this node serves") }
        return origin
    }
}
