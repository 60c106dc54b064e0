import Testing
import UnibusCore
import UnibusTestSupport

@Suite("nats-server config rendering")
struct NatsServerConfigRendererTests {
    static func settings(_ version: NatsServerVersion, monitor: Bool = false, cluster: Bool = false, host: String = "0.0.0.0") -> NatsServerSettings {
        NatsServerSettings(
            serverName: "n1", host: host, clientPort: 4250,
            tls: .init(cert: "/etc/unibus/server.crt", key: "/etc/unibus/server.key", ca: "/etc/unibus/ca.crt"),
            jetStreamDirectory: "/var/lib/unibus/js", pidFile: "/run/unibus/nats.pid",
            log: NatsLogOptions(environment: monitor ? ["UNIBUS_NATS_MONITOR": "1"] : [:]),
            cluster: cluster ? .init(name: "c", port: 6250, routes: ["nats-route://127.0.0.2:6250"], tls: nil) : nil,
            version: version)
    }

    @Test(arguments: [("nats-server: v2.9.10\n", "v2.9.10"), ("nats-server: v2.15.1", "v2.15.1"), ("v2.10.0-beta.3", "v2.10.0")])
    func versionIsParsed(_ output: String, _ expected: String) {
        #expect(NatsServerVersion(versionOutput: output)?.description == expected)
    }

    @Test func garbageIsNotAVersion() {
        #expect(NatsServerVersion(versionOutput: "command not found") == nil)
        #expect(NatsServerVersion(versionOutput: "nats-server: vX") == nil)
    }

    @Test func tlsAlwaysVerifiesClientCertificates() throws {
        let text = try NatsServerConfigRenderer.render(Self.settings(.init(2, 9, 10)), authorization: nil)
        #expect(text.contains("tls {\n  cert_file: \"/etc/unibus/server.crt\""))
        #expect(text.contains("  verify: true\n"))
        #expect(text.contains("listen: \"0.0.0.0:4250\""))
    }

    @Test func monitoringIsLoopbackWhateverTheBind() throws {
        let text = try NatsServerConfigRenderer.render(Self.settings(.init(2, 9, 10), monitor: true), authorization: nil)
        #expect(text.contains("http: \"127.0.0.1:8222\""))
        #expect(!(try NatsServerConfigRenderer.render(Self.settings(.init(2, 9, 10)), authorization: nil)).contains("http"))
    }

    @Test func onlyNewerServersGetRouteCompression() throws {
        let old = try NatsServerConfigRenderer.render(Self.settings(.init(2, 9, 10), cluster: true), authorization: nil)
        let new = try NatsServerConfigRenderer.render(Self.settings(.init(2, 10, 0), cluster: true), authorization: nil)
        #expect(!old.contains("compression") && new.contains("compression: \"s2_auto\""))
        #expect(old.contains("no_advertise: true") && !old.contains("\nno_advertise"))
    }

    @Test("values that could break the config are refused", arguments: ["a\"b", "a\nb", "a\\b", "$VAR", ""])
    func unsafeValuesAreRefused(_ value: String) {
        var s = Self.settings(.init(2, 9, 10))
        s.serverName = value
        #expect(throws: ConfigRenderError.self) { try NatsServerConfigRenderer.render(s, authorization: nil) }
    }

    /// Render errors reach the log and /healthz: a refused route password must not be in them.
    @Test func aRefusedRoutePasswordIsNamedNotShown() {
        var s = Self.settings(.init(2, 9, 10), cluster: true)
        s.cluster?.password = "s3cr\"et-$pw"
        let error = #expect(throws: ConfigRenderError.self) { try NatsServerConfigRenderer.render(s, authorization: nil) }
        #expect(error == .unsafeSecret("the route password"))
        #expect(error.map { !"\($0)".contains("s3cr") } == true)
    }
}
