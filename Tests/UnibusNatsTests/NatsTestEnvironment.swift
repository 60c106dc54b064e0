import UnibusNats
import UnibusTestSupport

/// One test's world: a temp dir, test certificates, two nkey users and a TLS nats-server that
/// requires client certificates (`verify: true`) and nkeys. The server logs at debug level, so
/// a refused connect explains itself (e.g. `Signature missing`) in ``connect(_:configure:)``'s error.
///
/// - `admin` may publish and subscribe to anything.
/// - `limited` may publish only to `allowed.>` and subscribe only to `allowed.>` and
///   `_INBOX.limited.>` (so its requests need the custom inbox prefix `_INBOX.limited`).
final class NatsTestEnvironment: Sendable {
    let directory: TempDirectory
    let pki: TestPKI
    let admin: TestNKey
    let limited: TestNKey
    let server: NatsServer

    init() async throws {
        directory = TempDirectory("unibus-test-nats")
        pki = try TestPKI(in: directory)
        admin = try TestNKey.random()
        limited = try TestNKey.random()
        server = try await NatsServer(config: Self.config(pki: pki, admin: admin, limited: limited), in: directory)
    }

    /// Stops the server (also done when the environment goes away).
    func stop() async { await server.stop() }

    /// Starts ``stop()`` without waiting (for `defer`).
    func requestStop() { server.requestStop() }

    /// Starts a fresh server with the same config on the same port.
    func restartedServer() async throws -> NatsServer {
        try await NatsServer(
            config: Self.config(pki: pki, admin: admin, limited: limited), in: directory, name: "restarted",
            port: server.port)
    }

    /// Which client certificate a connection presents.
    enum ClientCertificate { case trusted, foreign, none }

    /// TLS options for `user` (no nkey if `nil`), without reconnects.
    func options(user: TestNKey?, certificate: ClientCertificate = .trusted) -> NatsConnectOptions {
        var options = NatsConnectOptions(servers: [server.url], name: "unibus-nats-tests")
        switch certificate {
        case .trusted: options.tls = NatsTLSFiles(caFile: pki.caFile, certFile: pki.clientCert, keyFile: pki.clientKey)
        case .foreign:
            options.tls = NatsTLSFiles(
                caFile: pki.caFile, certFile: pki.foreignClientCert, keyFile: pki.foreignClientKey)
        case .none: options.tls = NatsTLSFiles(caFile: pki.caFile)
        }
        options.nkey = user?.credentials
        options.allowReconnect = false
        return options
    }

    /// Connects `user` with the trusted client certificate; if that fails, the error carries the
    /// server's log, so an unexpected refusal can be explained.
    func connect(_ user: TestNKey, configure: (inout NatsConnectOptions) -> Void = { _ in }) async throws
        -> NatsConnection
    {
        var options = options(user: user)
        configure(&options)
        do {
            return try await NatsConnection.connect(options)
        } catch {
            throw FixtureError("\(error)\nnats-server log:\n\(server.log)")
        }
    }

    static func config(pki: TestPKI, admin: TestNKey, limited: TestNKey) -> String {
        """
        debug: true
        tls {
          cert_file: "\(pki.serverCert)"
          key_file: "\(pki.serverKey)"
          ca_file: "\(pki.caFile)"
          verify: true
          timeout: 2
        }
        authorization {
          users: [
            { nkey: "\(admin.publicKey)" }
            {
              nkey: "\(limited.publicKey)"
              permissions: {
                publish: { allow: ["allowed.>"] }
                subscribe: { allow: ["allowed.>", "_INBOX.limited.>"] }
              }
            }
          ]
        }

        """
    }
}
