import ArgumentParser
import Foundation
import Logging
import ServiceLifecycle
import UnibusCore
import UnibusStoreSQLite
import UnibusSupervisor

/// `membershipd serve`: run the service (the default subcommand).
struct Serve: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Run the service (default): nats-server with the allowlist's ACLs.",
        discussion: """
            With no options: a single node on loopback, SQLite store, bus-auth enforce, TLS with a \
            development CA created under \(NodePaths.local.tlsDirectory).

            Environment (only the value 1 enables the UNIBUS_NATS_* variables):
            - UNIBUS_NATS_MONITOR=1 opens nats-server's monitoring endpoint on \(NatsServerSettings.monitorAddress) \
            (loopback only, whatever --bind says: /varz, /connz, /jsz); nats-server's log stays quiet.
            - UNIBUS_NATS_DEBUG=1 forwards nats-server's debug and trace log into membershipd's log; it implies \
            UNIBUS_NATS_MONITOR=1.
            - LOG_LEVEL sets membershipd's own log level: trace, debug, info (default), notice, warning, error or \
            critical.
            """)

    @OptionGroup var options: ServeOptions

    func run() async throws {
        let logger = Logging.membershipdLogger()
        let plan = try ServePlan(options, environment: ProcessInfo.processInfo.environment, logger: logger)
        try await plan.run()
    }
}

/// The serve flags of contract section 1 (names and defaults fixed there).
struct ServeOptions: ParsableArguments {
    @Option(help: "SQLite allowlist file (with --store sqlite).") var db = NodePaths.local.database
    @Option(help: "Allowlist store: a SQLite file (--db) or the JetStream KV.") var store = StoreKind.sqlite
    @Option(
        name: .customLong("bus-auth"),
        help: "enforce: nkey signature + client certificate + ACL; off: no authentication (only with a loopback --bind).")
    var busAuth = BusAuth.enforce
    @Option(help: "Address the data plane and the control plane listen on.") var bind = "127.0.0.1"
    @Option(name: .customLong("nats-port"), help: "Data plane (NATS over TLS) port.") var natsPort = 4250
    @Option(name: .customLong("http-port"), help: "Control plane (HTTPS API, /healthz) port.") var httpPort = 8470
    @Option(name: .customLong("cluster-port"), help: "Route port between cluster nodes (with --cluster-name).") var clusterPort = 6250
    @Option(name: .customLong("nats-store"), help: "JetStream store directory.") var natsStore = NodePaths.local.jetStream
    @Option(name: .customLong("nats-server"), help: "nats-server binary (default: found on PATH, then /usr/sbin).") var natsServer: String?
    @Option(name: .customLong("server-name"), help: "This node's nats-server name, unique in a cluster (default: unibus-<host name>).")
    var serverName: String?
    @Option(name: .customLong("tls-cert"), help: "Server certificate, PEM (data plane and HTTPS; with --tls-key and --tls-ca).")
    var tlsCert: String?
    @Option(name: .customLong("tls-key"), help: "Its private key, PEM, mode 0600.") var tlsKey: String?
    @Option(name: .customLong("tls-ca"), help: "CA that signs client certificates.") var tlsCA: String?
    @Option(name: .customLong("cluster-name"), help: "Cluster name, the same on every node (with --routes).") var clusterName: String?
    @Option(help: "Route URLs of the other nodes, comma-separated (nats-route://HOST:PORT).") var routes: String?
    @Option(name: .customLong("route-tls-cert"), help: "Route certificate, PEM (routes use their own CA; see cluster/).")
    var routeTLSCert: String?
    @Option(name: .customLong("route-tls-key"), help: "Its private key, PEM, mode 0600.") var routeTLSKey: String?
    @Option(name: .customLong("route-tls-ca"), help: "CA of the route certificates.") var routeTLSCA: String?
    @Option(name: .customLong("route-pass-file"), help: "File with the routes' shared password, mode 0600.") var routePassFile: String?
    @Option(name: .customLong("kv-replicas"), help: "Replicas of the KV buckets serve creates (1 on one node, 3 in a cluster).")
    var kvReplicas = 1
    @Option(
        name: .customLong("internal-id-file"), help: "membershipd's internal identity, an nkey seed (created mode 0600 if absent).")
    var internalIDFile = NodePaths.local.internalIdentity
    @Option(
        name: .customLong("public-url"),
        help: "An https origin the control plane answers for (repeatable; default https://<bind>:<http-port>, plus localhost on loopback).")
    var publicURLs: [String] = []
    /// Tests only: IDLE,HEAD,BODY connection timeouts in seconds (see ConnectionLimits).
    @Option(name: .customLong("http-timeouts"), help: .private) var httpTimeouts: String?
}

extension Logging {
    /// membershipd logs to stderr; LOG_LEVEL (trace…critical) adjusts the level, info by default.
    static func membershipdLogger() -> Logger {
        LoggingSystem.bootstrap { label in
            var handler = StreamLogHandler.standardError(label: label)
            handler.logLevel = ProcessInfo.processInfo.environment["LOG_LEVEL"].flatMap(Logger.Level.init(rawValue:)) ?? .info
            return handler
        }
        return Logger(label: "membershipd")
    }
}

enum Logging {}
