import ArgumentParser
import Foundation
import Logging
import ServiceLifecycle
import UnibusCore
import UnibusStoreSQLite
import UnibusSupervisor

/// `membershipd serve`: run the service (the default subcommand).
struct Serve: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Run the service (default): nats-server with the allowlist's ACLs.")

    @OptionGroup var options: ServeOptions

    func run() async throws {
        let logger = Logging.membershipdLogger()
        let plan = try ServePlan(options, environment: ProcessInfo.processInfo.environment, logger: logger)
        try await plan.run()
    }
}

/// The serve flags of contract section 1 (names and defaults fixed there).
struct ServeOptions: ParsableArguments {
    @Option(help: "SQLite allowlist file.") var db = "./local_files/unibus.db"
    @Option(help: "Allowlist store: sqlite or kv.") var store = "sqlite"
    @Option(name: .customLong("bus-auth"), help: "enforce (nkey + client certificate + ACL) or off (loopback only).") var busAuth = "enforce"
    @Option(help: "Address the data plane listens on.") var bind = "127.0.0.1"
    @Option(name: .customLong("nats-port")) var natsPort = 4250
    @Option(name: .customLong("http-port")) var httpPort = 8470
    @Option(name: .customLong("cluster-port")) var clusterPort = 6250
    @Option(name: .customLong("nats-store"), help: "JetStream store directory.") var natsStore = "./local_files/jetstream"
    @Option(name: .customLong("nats-server"), help: "nats-server binary (default: found on PATH, then /usr/sbin).") var natsServer: String?
    @Option(name: .customLong("server-name")) var serverName: String?
    @Option(name: .customLong("tls-cert")) var tlsCert: String?
    @Option(name: .customLong("tls-key")) var tlsKey: String?
    @Option(name: .customLong("tls-ca"), help: "CA that signs client certificates.") var tlsCA: String?
    @Option(name: .customLong("cluster-name")) var clusterName: String?
    @Option(help: "Route URLs, comma-separated.") var routes: String?
    @Option(name: .customLong("route-tls-cert")) var routeTLSCert: String?
    @Option(name: .customLong("route-tls-key")) var routeTLSKey: String?
    @Option(name: .customLong("route-tls-ca")) var routeTLSCA: String?
    @Option(name: .customLong("route-pass-file")) var routePassFile: String?
    @Option(name: .customLong("kv-replicas")) var kvReplicas = 1
    @Option(name: .customLong("internal-id-file")) var internalIDFile = "./local_files/internal.id"
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
