public import Hummingbird
public import UnibusCore

/// Per-request context: the authenticated caller and the body, read once by the authenticator.
public struct ControlPlaneContext: RequestContext {
    public var coreContext: CoreRequestContextStorage
    /// The verified, active user who signed the request (nil only on `/healthz`).
    public var caller: User?
    /// The request body, at most `ControlPlane.maxBody` bytes.
    public var body: ByteBuffer = ByteBuffer()

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
}
