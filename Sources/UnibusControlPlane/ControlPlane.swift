public import Foundation
public import Hummingbird
public import Logging
import NIOHTTP1
import Synchronization
public import UnibusCore

/// The HTTPS control plane (contract section 4): `/healthz` and the signed `/v1` API.
public struct ControlPlane: Sendable {
    /// Largest accepted request body.
    public static let maxBody = 64 * 1024

    let store: any AllowlistStore
    let posture: @Sendable () async -> Posture
    let allowlistChanged: @Sendable () async throws -> String?
    let now: @Sendable () -> Date
    /// The origins this node answers for (`--public-url`); the first is the primary one.
    let origins: [PublicOrigin]
    let limits: ConnectionLimits

    /// - Parameters:
    ///   - origins: the accepted origins; a request for another is 421 `misdirected`.
    ///   - posture: the live health of the node, asked on each `/healthz`.
    ///   - allowlistChanged: waits until a data-plane change is in force on this node before the 2xx
    ///     is sent; returns how many nodes have it (`2/3`) in a cluster, else nil.
    ///   - limits: connection timeouts and header sizes (`.standard` outside tests).
    public init(
        origins: [PublicOrigin], store: any AllowlistStore, posture: @escaping @Sendable () async -> Posture,
        allowlistChanged: @escaping @Sendable () async throws -> String?, now: @escaping @Sendable () -> Date = Date.init,
        limits: ConnectionLimits = .standard
    ) {
        self.origins = origins
        self.limits = limits
        self.store = store
        self.posture = posture
        self.allowlistChanged = allowlistChanged
        self.now = now
    }

    /// The router with every route and the authenticator.
    public func router() -> Router<ControlPlaneContext> {
        let router = Router(context: ControlPlaneContext.self, options: .autoGenerateHeadEndpoints)
        let methods = RouteMethods()
        router.add(middleware: ErrorMapper(methods: methods))
        router.add(middleware: OriginPolicy(origins: origins))
        router.add(middleware: SignedRequestAuthenticator(store: store, now: now))
        router.add(middleware: AppliedNodesHeader())
        router.get("/healthz") { _, _ in try await healthz() }
        addUserRoutes(to: router)
        addRoomRoutes(to: router)
        methods.load(router.routes)
        return router
    }

    /// Applies a data-plane change before the 2xx; a failed reload is a 503, never a success.
    func applyACL(_ context: ControlPlaneContext) async throws {
        do {
            let applied = try await allowlistChanged()
            context.appliedNodes.value.withLock { $0 = applied }
        } catch {
            throw APIError.unavailable(
                "the change is stored but not in force on the data plane yet (\(error)); membershipd retries it and /healthz shows it until it is")
        }
    }

    func healthz() async throws -> Response {
        let p = await posture()
        let body = try JSONEncoder.api.encode(p)
        return Response(
            status: p.status == "ok" ? .ok : .serviceUnavailable, headers: [.contentType: "application/json"],
            body: .init(byteBuffer: ByteBuffer(bytes: body)))
    }
}

/// Turns anything thrown by a handler into the contract's JSON error (never a bare 500): a
/// ``ContractError`` (``APIError``, `StoreError`, `ValidationError`: Errors+HTTP.swift) answers
/// for itself, Hummingbird's own errors are reworded, anything else is a 503 that names nothing
/// of its internals (they are logged).
struct ErrorMapper: RouterMiddleware {
    typealias Context = ControlPlaneContext
    /// The methods each path answers (a wrong method on a known path is 405, not 404).
    let methods: RouteMethods

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        do {
            return try await next(request, context)
        } catch let error as any ContractError {
            throw error
        } catch let error as HTTPParserError {
            throw error  // the connection guard answers it (ConnectionGuard)
        } catch let error as HTTPError where error.status == .notFound {
            let allowed = methods.allowed(for: request.uri.path)
            guard allowed.isEmpty else {
                throw APIError.methodNotAllowed(request.method.rawValue, path: request.uri.path, allowed: allowed)
            }
            throw APIError.notFound("no such endpoint: \(request.method) \(request.uri.path)")
        } catch let error as HTTPError where error.status == .contentTooLarge {
            throw SignedRequestAuthenticator.tooLarge
        } catch let error as HTTPError {
            throw APIError(error.status, "invalid", error.body ?? "\(error.status)")
        } catch {
            context.logger.error("\(request.method) \(request.uri.path) failed: \(error)")
            throw APIError.internalFailure
        }
    }
}

extension JSONEncoder {
    static var api: JSONEncoder {
        let e = JSONEncoder()
        e.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        e.dateEncodingStrategy = .iso8601
        return e
    }
}
