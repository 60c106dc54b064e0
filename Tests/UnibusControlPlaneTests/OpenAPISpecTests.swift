import Foundation
import Hummingbird
import Testing
import UnibusCore
import UnibusProcess
import UnibusStoreSQLite
import UnibusTestSupport

@testable import UnibusControlPlane

/// `docs/openapi.yaml` names exactly the routes the control plane's router answers: a route added
/// to the code without the spec, or to the spec without the code, fails here. (What each route
/// answers is checked against the spec by `scripts/fuzz-api.sh`, schemathesis on a live node.)
@Suite("docs/openapi.yaml and the router", .serialized)
struct OpenAPISpecTests {
    static let repoRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    /// `METHOD /path/{param}` for every route, as the application serves them: the router is built
    /// into its responder first, which adds `HEAD` to every `GET` route (`autoGenerateHeadEndpoints`).
    static func routerRoutes() throws -> Set<String> {
        let dir = TempDirectory("unibus-test-openapi")
        let store = try SQLiteAllowlistStore(path: dir.file("unibus.db"))
        let plane = try ControlPlane.fixture(store: store, origin: "localhost")
        let router = plane.router()
        _ = router.buildResponder()
        // RouterPath prints a capture `:name` as `{name}`, the OpenAPI form.
        return Set(router.routes.map { "\($0.method.rawValue) \($0.path)" })
    }

    /// The operations of `docs/openapi.yaml`, read with PyYAML (Tests/Peers/openapi_routes.py).
    static func specRoutes() async throws -> Set<String> { Set(try await readSpec()) }

    /// The `pattern` of each component schema of `docs/openapi.yaml` that has one, by name.
    static func specPatterns() async throws -> [String: String] {
        Dictionary(
            uniqueKeysWithValues: try await readSpec("--patterns").map { line in
                let parts = line.split(separator: " ", maxSplits: 1).map(String.init)
                return (parts[0], parts.count > 1 ? parts[1] : "")
            })
    }

    /// The lines Tests/Peers/openapi_routes.py prints for `docs/openapi.yaml`.
    static func readSpec(_ options: String...) async throws -> [String] {
        let script = repoRoot.appendingPathComponent("Tests/Peers/openapi_routes.py").path
        let spec = repoRoot.appendingPathComponent("docs/openapi.yaml").path
        let result = try await Command("/usr/bin/env", [TestPython.executable, script, spec] + options).output()
        guard result.succeeded else {
            throw FixtureError("openapi_routes.py failed (set UNIBUS_PYTHON to the venv's python3): \(result.stderr)")
        }
        return result.stdout.split(separator: "\n").map(String.init)
    }

    @Test("every route the router answers is in docs/openapi.yaml, and the spec has no other")
    func specNamesExactlyTheRouterRoutes() async throws {
        let code = try Self.routerRoutes()
        let spec = try await Self.specRoutes()
        #expect(code.contains("HEAD /v1/me") && code.contains("POST /v1/users/{signPub}/revoke"), "routes as read: \(code.sorted())")
        #expect(code.subtracting(spec).sorted() == [], "routes in the code that docs/openapi.yaml does not describe")
        #expect(spec.subtracting(code).sorted() == [], "operations in docs/openapi.yaml that the code does not have")
    }

    /// Samples on both sides of each identifier's rules: lengths at the bounds, first characters,
    /// case, and characters just outside the allowed sets.
    static let handles = [
        "a", "ana", "a-b_c9", "z" + String(repeating: "9", count: 31), "z" + String(repeating: "9", count: 32), "", "9a", "-a", "_a", "Ana", "a.b",
        "a b", "é", "a/b", "a*",
    ]
    static let roomIDs = [
        "0", "general", "9-x_y", String(repeating: "a", count: 64), String(repeating: "a", count: 65), "", "-a", "_a", "Room", "a.b", "a b", "a>",
        "ü",
    ]
    static let signPubs = [
        String(repeating: "ab", count: 32), String(repeating: "AB", count: 32), String(repeating: "0", count: 63), String(repeating: "0", count: 65),
        String(repeating: "g", count: 64), String(repeating: "0", count: 62) + " 0",
    ]

    @Test("the spec's patterns for handles, room ids and sign-pubs accept exactly what the validators accept")
    func specPatternsMatchTheValidators() async throws {
        let patterns = try await Self.specPatterns()
        func accepts(_ name: String, _ text: String) throws -> Bool {
            let regex = try Regex(try #require(patterns[name], "docs/openapi.yaml has no pattern for \(name)"))
            return text.wholeMatch(of: regex) != nil
        }
        for text in Self.handles { #expect(try accepts("Handle", text) == ((try? Handle(text)) != nil), "handle \(text)") }
        for text in Self.roomIDs { #expect(try accepts("RoomID", text) == ((try? RoomID(text)) != nil), "room id \(text)") }
        for text in Self.signPubs {
            let shape = (try? SignPub(hex: text)) != nil
            #expect(try accepts("SignPubInput", text) == shape, "sign-pub \(text)")
            #expect(try accepts("SignPub", text) == (shape && text == text.lowercased()), "stored sign-pub \(text)")
        }
    }
}
