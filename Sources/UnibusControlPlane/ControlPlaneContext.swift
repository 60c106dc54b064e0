import HTTPTypes
public import Hummingbird
import Synchronization
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
    /// How many nodes had the request's allowlist change in force when it was answered (cluster).
    let appliedNodes = AppliedNodes()

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

/// Set by a handler once its change is in force; `AppliedNodesHeader` reports it.
final class AppliedNodes: Sendable {
    let value = Mutex<String?>(nil)
}

/// Adds `Unibus-ACL-Applied: <n>/<m>` to the answer of a write that changed the ACL in a cluster:
/// the answer waits for this node only, the header says how many had it in force by then.
struct AppliedNodesHeader: RouterMiddleware {
    typealias Context = ControlPlaneContext
    static let name = HTTPField.Name("Unibus-ACL-Applied")!

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        var response = try await next(request, context)
        if let applied = context.appliedNodes.value.withLock({ $0 }) { response.headers[Self.name] = applied }
        return response
    }
}
