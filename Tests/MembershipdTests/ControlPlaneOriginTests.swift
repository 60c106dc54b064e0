import Foundation
import Testing
import UnibusCore
import UnibusProcess
import UnibusTestSupport

/// `@target-uri` is the node's own origin (`--public-url`), never the client's `Host`: a request
/// for another origin is 421 `misdirected`, whatever it is signed for.
@Suite("control plane origins: --public-url, 421 misdirected", .serialized)
struct ControlPlaneOriginTests {
    static func start(_ arguments: [String] = []) async throws -> ServeFixture {
        let serve = try await ServeFixture(natsServer: NatsServerBinaries.debian, arguments: arguments)
        try await serve.waitUntilReady()
        _ = try await serve.addUser("ana", 1, role: .admin)
        guard await eventually(timeout: .seconds(10), { FreePort.accepts(serve.httpPort) }) else {
            throw FixtureFailure("nothing listens on the control plane port:\n\(serve.log)")
        }
        return serve
    }

    /// The independent signer (http-message-signatures from PyPI), signing for `origin`.
    static func pythonGet(_ serve: ServeFixture, _ path: String, origin: String) async throws -> [String: Any] {
        let seed = serve.dir.file("ana.hex")
        FileManager.default.createFile(atPath: seed, contents: Data(Hex.encode(Fixture.keyPair(1).seed).utf8), attributes: [.posixPermissions: 0o600])
        let data = Data(
            try await Command(
                "/usr/bin/env",
                [
                    TestPython.executable, ServeFixture.repoRoot.appendingPathComponent("Tests/Peers/http_sig_peer.py").path,
                    "https://127.0.0.1:\(serve.httpPort)", "\(serve.tls)/ca.crt", seed, "GET", path, "-", "none", origin,
                ]
            ).output().stdout.utf8)
        return (try? JSONSerialization.jsonObject(with: data) as? [String: Any]) ?? ["raw": String(decoding: data, as: UTF8.self)]
    }

    @Test("each --public-url is accepted, signed for itself; other origins are 421; signed for another origin is 401")
    func configuredOrigins() async throws {
        let serve = try await Self.start(["--public-url", "https://unibus.test", "--public-url", "https://Alias.Test:8443/"])
        #expect(serve.log.contains("answering for https://unibus.test, https://alias.test:8443"), "\(serve.log)")
        let ana = Fixture.keyPair(1)
        // the independent signer, addressing each configured origin
        for origin in ["https://unibus.test", "https://alias.test:8443", "https://ALIAS.test:8443"] {
            let r = try await Self.pythonGet(serve, "/v1/me", origin: origin)
            #expect(r["status"] as? Int == 200, "\(origin): \(r)")
        }
        // Host spelled differently from the signature (case, default port): the origin decides
        let spelled = try await RawExchange.send(
            serve, try RawExchange.signedGet("/v1/me", key: ana, signedFor: "unibus.test", host: "UNIBUS.test:443"))
        #expect(spelled.status == 200, "\(spelled)")
        // signed for another configured origin, sent to this one: the base names ours
        let crossed = try await RawExchange.send(
            serve, try RawExchange.signedGet("/v1/me", key: ana, signedFor: "alias.test:8443", host: "unibus.test"))
        #expect(crossed.status == 401 && crossed.code == "bad-signature", "\(crossed)")
        // an origin not configured, correctly signed for itself; the defaults are replaced too
        for host in ["evil.test", "unibus.test:8470", "127.0.0.1:\(serve.httpPort)"] {
            let r = try await RawExchange.send(serve, try RawExchange.signedGet("/v1/me", key: ana, signedFor: host, host: host))
            #expect(r.status == 421 && r.code == "misdirected", "\(host): \(r)")
            #expect(r.message?.contains("https://unibus.test") == true, "\(r)")
        }
        let python = try await Self.pythonGet(serve, "/v1/me", origin: "https://evil.test")
        #expect(python["status"] as? Int == 421, "\(python)")
    }

    @Test("by default: https://127.0.0.1:<port> and https://localhost:<port> on loopback, nothing else")
    func defaultOrigins() async throws {
        let serve = try await Self.start()
        let ana = Fixture.keyPair(1)
        let port = serve.httpPort
        for host in ["127.0.0.1:\(port)", "localhost:\(port)", "LOCALHOST:\(port)"] {
            let r = try await RawExchange.send(serve, try RawExchange.signedGet("/v1/me", key: ana, signedFor: host.lowercased(), host: host))
            #expect(r.status == 200, "\(host): \(r)")
        }
        for host in ["evil.test:\(port)", "localhost", "127.0.0.1:\(port + 1)", "127.0.0.2:\(port)"] {
            let r = try await RawExchange.send(serve, try RawExchange.signedGet("/v1/me", key: ana, signedFor: host, host: host))
            #expect(r.status == 421 && r.code == "misdirected", "\(host): \(r)")
        }
        // unsigned /healthz for another origin is refused too; an absolute-form target names the origin
        let health = try await RawExchange.send(serve, "GET /healthz HTTP/1.1\r\nHost: evil.test\r\nConnection: close\r\n\r\n")
        #expect(health.status == 421 && health.code == "misdirected", "\(health)")
        let absolute = try await RawExchange.send(
            serve, "GET https://evil.test/healthz HTTP/1.1\r\nHost: 127.0.0.1:\(port)\r\nConnection: close\r\n\r\n")
        #expect(absolute.status == 421 && absolute.code == "misdirected", "\(absolute)")
    }

    @Test(
        "a --public-url that is not an https origin is refused (exit 1)",
        arguments: [
            "http://unibus.test", "https://unibus.test/v1", "https://unibus.test?x=1", "https://unibus.test#top", "https://ana@unibus.test",
            "https://unibus.test:0", "https://unibus.test:70000", "https://", "unibus.test", "https://uni bus.test",
        ])
    func badPublicURL(_ url: String) async throws {
        let dir = TempDirectory("unibus-test-public-url")
        let r = try await CLI.run(
            ["serve", "--public-url", url, "--nats-port", "\(FreePort.next())", "--http-port", "\(FreePort.next())"], cwd: dir.url)
        #expect(r.status == 1, "\(r.status) \(r.stderr)")
        #expect(r.stderr.hasPrefix("error: --public-url '\(url)'"), "\(r.stderr)")
        #expect(r.stderr.split(separator: "\n").count == 1, "\(r.stderr)")
    }
}
