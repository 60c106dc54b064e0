public import Hummingbird

/// Refuses a request addressed to an origin this node does not serve (421 `misdirected`), before
/// anything else looks at it, whatever it is signed for; otherwise records the matched origin in
/// the context, from which the authenticator builds `@target-uri`.
///
/// A request without `Host` (HTTP/1.0 allows it) is taken as addressed to the first origin.
public struct OriginPolicy: RouterMiddleware {
    public typealias Context = ControlPlaneContext
    let origins: [PublicOrigin]

    public init(origins: [PublicOrigin]) {
        self.origins = origins
    }

    public func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        var context = context
        context.origin = try origin(of: request)
        return try await next(request, context)
    }

    func origin(of request: Request) throws -> PublicOrigin {
        guard let host = request.head.authority else {
            guard let first = origins.first else { throw misdirected("(no Host)") }
            return first
        }
        guard let origin = origins.first(where: { $0.matches(host: host) }) else { throw misdirected(host) }
        return origin
    }

    func misdirected(_ host: String) -> APIError { Self.misdirected(host, origins: origins) }

    static func misdirected(_ host: String, origins: [PublicOrigin] = []) -> APIError {
        APIError.misdirected(
            "this node does not serve \(host); it answers for \(origins.map(\.description).joined(separator: ", ")) (--public-url)")
    }
}
