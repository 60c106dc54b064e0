import Foundation
import Hummingbird
import Testing
import UnibusCore
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
        let plane = ControlPlane(
            origins: [try PublicOrigin(parsing: "https://localhost")], store: store,
            posture: {
                Posture(
                    status: "ok", version: "t", busAuth: "enforce", acl: true, tls: true, store: "sqlite", cluster: nil, jetstream: "ready",
                    lastACLReload: nil, serverCertificateExpires: nil)
            },
            allowlistChanged: { nil })
        let router = plane.router()
        _ = router.buildResponder()
        // RouterPath prints a capture `:name` as `{name}`, the OpenAPI form.
        return Set(router.routes.map { "\($0.method.rawValue) \($0.path)" })
    }

    /// The operations of `docs/openapi.yaml`, read with PyYAML (Tests/Peers/openapi_routes.py).
    static func specRoutes() throws -> Set<String> {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = [
            TestPython.executable, repoRoot.appendingPathComponent("Tests/Peers/openapi_routes.py").path,
            repoRoot.appendingPathComponent("docs/openapi.yaml").path,
        ]
        let out = Pipe(), err = Pipe()
        process.standardOutput = out
        process.standardError = err
        try process.run()
        let output = String(decoding: out.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        let errors = String(decoding: err.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        guard process.terminationStatus == 0 else {
            throw FixtureError("openapi_routes.py failed (set UNIBUS_PYTHON to the venv's python3): \(errors)")
        }
        return Set(output.split(separator: "\n").map(String.init))
    }

    @Test("every route the router answers is in docs/openapi.yaml, and the spec has no other")
    func specNamesExactlyTheRouterRoutes() throws {
        let code = try Self.routerRoutes()
        let spec = try Self.specRoutes()
        #expect(code.contains("HEAD /v1/me") && code.contains("POST /v1/users/{signPub}/revoke"), "routes as read: \(code.sorted())")
        #expect(code.subtracting(spec).sorted() == [], "routes in the code that docs/openapi.yaml does not describe")
        #expect(spec.subtracting(code).sorted() == [], "operations in docs/openapi.yaml that the code does not have")
    }
}
