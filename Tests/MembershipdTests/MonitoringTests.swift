import Foundation
import Testing
import UnibusProcess
import UnibusTestSupport

/// UNIBUS_NATS_MONITOR / UNIBUS_NATS_DEBUG: the monitoring endpoint is 127.0.0.1:8222 only.
@Suite("monitoring toggle", .serialized)
struct MonitoringTests {
    static func get(_ path: String) async -> (status: Int, body: String) {
        let arguments = [
            TestPython.executable, "-c",
            """
            import sys, urllib.request
            try:
                r = urllib.request.urlopen('http://127.0.0.1:8222\(path)', timeout=3); print(r.status); print(r.read().decode())
            except Exception as e:
                print(0); print(e)
            """,
        ]
        let text = (try? await Command("/usr/bin/env", arguments).output().stdout) ?? ""
        let lines = text.split(separator: "\n", maxSplits: 1)
        return (Int(lines.first ?? "") ?? 0, lines.count > 1 ? String(lines[1]) : "")
    }

    /// Listening TCP sockets on a port, as `ss` shows them (local address:port).
    static func listeners(port: Int) async -> [String] {
        let text = (try? await Command("/usr/bin/env", ["ss", "-ltnH", "sport = :\(port)"]).output().stdout) ?? ""
        return text.split(separator: "\n").compactMap {
            $0.split(separator: " ", omittingEmptySubsequences: true).dropFirst(3).first.map(String.init)
        }
    }

    @Test("MONITOR=1 opens /varz and /jsz on 127.0.0.1 only, even with --bind 0.0.0.0, and the log stays quiet")
    func monitorOpensLoopbackEndpoint() async throws {
        let certs = TempDirectory("unibus-test-certs")
        let tls = try await ServeLifecycleTests.certificates(in: certs)
        let serve = try await ServeFixture(
            natsServer: NatsServerBinaries.debian,
            arguments: ["--bind", "0.0.0.0", "--tls-cert", "\(tls)/server.crt", "--tls-key", "\(tls)/server.key", "--tls-ca", "\(tls)/ca.crt"],
            environment: ["UNIBUS_NATS_MONITOR": "1"])
        try await serve.waitUntilReady()
        let varz = await Self.get("/varz")
        #expect(varz.status == 200 && varz.body.contains("\"server_name\""), "\(varz)")
        let jsz = await Self.get("/jsz")
        #expect(jsz.status == 200 && jsz.body.contains("\"config\""), "\(jsz)")
        #expect(await Self.listeners(port: 8222) == ["127.0.0.1:8222"])
        #expect(["0.0.0.0:\(serve.natsPort)", "*:\(serve.natsPort)"].contains(await Self.listeners(port: serve.natsPort).first ?? ""))
        #expect(!serve.log.contains("[DBG]") && !serve.log.contains("[TRC]") && !serve.log.contains("[INF]"))
        await serve.stop()
    }

    @Test("without the variables nothing listens on 8222")
    func closedByDefault() async throws {
        let serve = try await ServeFixture(natsServer: NatsServerBinaries.debian)
        try await serve.waitUntilReady()
        #expect(await Self.listeners(port: 8222).isEmpty)
        await serve.stop()
    }

    @Test("DEBUG=1 gives the debug log and the endpoint")
    func debugImpliesMonitor() async throws {
        let serve = try await ServeFixture(natsServer: NatsServerBinaries.debian, environment: ["UNIBUS_NATS_DEBUG": "1"])
        try await serve.waitUntilReady()
        #expect(await Self.get("/varz").status == 200)
        #expect(await eventually { serve.log.contains("[DBG]") }, "\(serve.log)")
        await serve.stop()
    }
}
