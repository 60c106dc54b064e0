public import Hummingbird
import Synchronization

/// Which methods each route path answers, read off the router once its routes are added: a
/// request for a path that exists under other methods is a 405 naming them (`Allow`), not a 404.
final class RouteMethods: Sendable {
    private let routes = Mutex<[(segments: [Substring], methods: Set<String>)]>([])

    /// Records the router's routes (GET routes answer HEAD too: `autoGenerateHeadEndpoints`).
    func load(_ descriptions: [Router<ControlPlaneContext>.RouteDescription]) {
        var byPath: [String: Set<String>] = [:]
        for route in descriptions {
            let method = route.method.rawValue
            byPath["\(route.path)", default: []].formUnion(method == "GET" ? ["GET", "HEAD"] : [method])
        }
        routes.withLock { $0 = byPath.map { (Self.segments($0.key), $0.value) } }
    }

    /// The methods `path` answers, in a fixed order (empty when no route has that path).
    func allowed(for path: String) -> [String] {
        let request = Self.segments(path)
        let methods = routes.withLock { routes in
            routes.filter { Self.matches($0.segments, request) }.reduce(into: Set<String>()) { $0.formUnion($1.methods) }
        }
        return ["GET", "HEAD", "POST", "PUT", "DELETE"].filter(methods.contains)
    }

    /// A path's segments; the router ignores empty ones (`//`, a trailing `/`).
    private static func segments(_ path: String) -> [Substring] { path.split(separator: "/") }

    /// A route's `{capture}` segment matches any one segment; others match exactly.
    private static func matches(_ route: [Substring], _ request: [Substring]) -> Bool {
        route.count == request.count && zip(route, request).allSatisfy { $0.hasPrefix("{") || $0.hasPrefix(":") || $0 == $1 }
    }
}
